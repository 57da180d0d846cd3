"""
A small OSCAR client for loopback tests: FLAP framing with the server codec's
splitter, an inbox of received frames and SNACs, and the login exchanges
(roasted on channel 1, MD5 over family 0x17, the BOS cookie).

It is deliberately literal: it sends what it is told, in the order it is told,
so a test can play licq, Miranda or a hostile client.  Received frames are
kept whole (L{Received}); SNACs are decoded, their bodies left to the test.
"""

from dataclasses import dataclass
from typing import Optional

from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.task import deferLater

from iserverd.codec.errors import MalformedPacket
from iserverd.codec.oscar import auth, flap, icbm, icq, location, logincrypto, service, userinfo
from iserverd.codec.oscar import snac as snac_codec
from iserverd.codec.oscar.flap import Frame
from iserverd.codec.oscar.wire import Tlvs, screen_name
from iserverd.testing.inbox import WAIT, Inbox


@dataclass(frozen=True)
class Received:
    """
    One frame from the server.

    @ivar snac: the decoded SNAC of a channel-2 frame (L{None} otherwise, or
        when the frame did not hold a valid SNAC header).
    """

    frame: Frame
    snac: Optional[snac_codec.Snac] = None

    @property
    def channel(self):
        return self.frame.channel

    @property
    def command(self):
        """C{(family, subtype)} for a SNAC, C{("channel", n)} for other frames."""
        return self.snac.key if self.snac is not None else ("channel", self.frame.channel)


class OscarClient(Inbox, Protocol):
    """
    @ivar closed: Deferred firing with the reason (an exception) when the
        connection ends.
    @ivar sequence: the number of the next frame sent.
    """

    def __init__(self, reactor, sequence=0x2000, max_data=flap.MAX_DATA):
        self.init_inbox(reactor)
        self.splitter = flap.Splitter(max_data)
        self.sequence = sequence
        self.request_id = 0
        self.closed = defer.Deferred()
        self.broken = None
        self.uin = None

    # --- sending ----------------------------------------------------------------

    def send_frame(self, channel, data=b""):
        """Send one frame with the next sequence number; return the frame."""
        frame = Frame(channel, self.sequence, bytes(data))
        self.sequence = flap.next_sequence(self.sequence)
        self.transport.write(flap.encode(frame))
        return frame

    def send_raw(self, data):
        """Write bytes as they are (partial or broken frames)."""
        self.transport.write(bytes(data))

    def send_snac(self, family, subtype, body=b"", flags=0, request_id=None):
        """
        Send one SNAC on channel 2.

        @return: the request id used (the next of a counter by default).
        """
        if request_id is None:
            self.request_id += 1
            request_id = self.request_id
        self.send_frame(flap.CH_SNAC, snac_codec.encode(snac_codec.Snac(family, subtype, flags, request_id, body)))
        return request_id

    def hello(self, tlvs=()):
        """The client's channel-1 hello (licq and Miranda add TLV 0x8003)."""
        return self.send_frame(flap.CH_SIGNON, auth.SignOn(Tlvs.of(*tlvs)).build())

    def keep_alive(self):
        return self.send_frame(flap.CH_KEEPALIVE)

    def sign_off(self):
        """An empty channel-4 frame, then close (Miranda's way of leaving)."""
        self.send_frame(flap.CH_SIGNOFF)
        self.transport.loseConnection()
        return self.closed

    # --- receiving --------------------------------------------------------------

    def dataReceived(self, data):
        try:
            frames = self.splitter.feed(data)
        except MalformedPacket as e:
            self.broken = str(e)
            self.transport.loseConnection()
            return
        for frame in frames:
            decoded = None
            if frame.channel == flap.CH_SNAC:
                try:
                    decoded = snac_codec.decode(frame.data)
                except MalformedPacket:
                    pass
            self.deliver(Received(frame, decoded))

    def connectionLost(self, reason):
        if not self.closed.called:
            self.closed.callback(reason.value)

    def wait_snac(self, family, subtype, request_id=None, timeout=WAIT):
        """Fire with the next L{Received} SNAC of this family/subtype (and request id)."""

        def match(r):
            return r.snac is not None and r.snac.key == (family, subtype) and (
                request_id is None or r.snac.request_id == request_id)

        return self.wait_for(match, timeout)

    def wait_channel(self, channel, timeout=WAIT):
        """Fire with the next L{Received} frame on this channel."""
        return self.wait_for(lambda r: r.frame.channel == channel, timeout)

    def wait_hello(self, timeout=WAIT):
        return self.wait_channel(flap.CH_SIGNON, timeout)

    def snacs(self, family, subtype):
        """The received SNACs of this family/subtype, in order."""
        return [r.snac for r in self.received if r.snac is not None and r.snac.key == (family, subtype)]

    # --- logging in -------------------------------------------------------------

    @defer.inlineCallbacks
    def roasted_login(self, uin, password, client=auth.LICQ_CLIENT):
        """
        Log in on channel 1 with the roasted password, as licq 1.3.5 does.

        @return: Deferred firing with the server's L{auth.AuthResult}.
        """
        yield self.wait_hello()
        self.uin = uin
        signon = auth.roasted_signon(screen_name(uin), logincrypto.roast(password), client)
        self.send_frame(flap.CH_SIGNON, signon.build())
        reply = yield self.wait_channel(flap.CH_SIGNOFF)
        return auth.AuthResult.parse(reply.frame.data)

    @defer.inlineCallbacks
    def md5_login(self, uin, password, new_hash=True, marker=None, client=auth.LICQ_CLIENT):
        """
        Log in over family 0x17: hello, 17,06, wait for 17,07, 17,02 with the
        digest of the chosen variant.

        @param marker: send TLV 0x004C (L{None}: as the variant says); a
            client that mislabels its hash passes the other value.
        @return: Deferred firing with the L{auth.AuthResult} of the 17,03 (an
            error 17,03 answering the key request included).
        """
        yield self.wait_hello()
        self.uin = uin
        self.hello()
        name = screen_name(uin)
        request = self.send_snac(auth.FAMILY, auth.AUTH_KEY_REQUEST, auth.KeyRequest(name).build())
        answer = yield self.wait_for(lambda r: r.snac is not None and r.snac.request_id == request
                                     and r.snac.key in ((auth.FAMILY, auth.AUTH_KEY_REPLY),
                                                        (auth.FAMILY, auth.AUTH_REPLY)))
        if answer.snac.subtype == auth.AUTH_REPLY:
            return auth.AuthResult.parse(answer.snac.body)
        key = auth.KeyReply.parse(answer.snac.body).key
        digest = logincrypto.md5_digest(key, password, new_hash)
        login = auth.md5_login(name, digest, new_hash if marker is None else marker, client)
        request = self.send_snac(auth.FAMILY, auth.AUTH_LOGIN, login.build())
        reply = yield self.wait_snac(auth.FAMILY, auth.AUTH_REPLY, request)
        return auth.AuthResult.parse(reply.snac.body)

    @defer.inlineCallbacks
    def cookie_login(self, cookie, uin=None):
        """
        Present a cookie to the BOS server.

        @param uin: the UIN the cookie was issued to (for family-0x15 bodies).

        @return: Deferred firing with the L{Received} 01,03 family list.
        """
        yield self.wait_hello()
        if uin is not None:
            self.uin = uin
        self.send_frame(flap.CH_SIGNON, auth.cookie_signon(cookie).build())
        families = yield self.wait_snac(0x0001, 0x0003)
        return families


# --- BOS start-up as real clients do it (oscar.md 6.9) -----------------------------

CAPS_ICQ = (userinfo.CAP_SRV_RELAY, userinfo.CAP_UTF8)
_FAMILIES = ((0x0001, 4), (0x0013, 4), (0x0002, 1), (0x0003, 1), (0x0015, 1), (0x0004, 1),
             (0x0006, 1), (0x0009, 1), (0x000A, 1), (0x000B, 1))


def _versions(family1=4):
    return service.Versions(((0x0001, family1),) + _FAMILIES[1:]).build()


def _send(family, subtype, body=b""):
    return ("send", family, subtype, body)


def _wait(*keys):
    """Wait for the first of these (family, subtype) replies."""
    return ("wait", keys)


def _rights(roster, buddy_flags=False):
    """The rights requests every client sends, with its roster request (13,05 or 13,04)."""
    return [
        _send(0x13, 0x02, Tlvs.of((0x0B, b"\x00\x0f")).build()),
        _send(0x13, 0x05, bytes(6)) if roster == "check" else _send(0x13, 0x04),
        _send(0x02, 0x02),
        _send(0x03, 0x02, Tlvs.of((0x05, b"\x00\x03")).build() if buddy_flags else b""),
        _send(0x04, 0x04),
        _send(0x09, 0x02),
    ]


_ROSTER_REPLY = _wait((0x13, 0x06), (0x13, 0x0F))


def profile_steps(profile, status=0, flags=0, ready_quads=()):
    """
    The SNACs a client sends after the 01,03, and the replies it waits for
    before going on (oscar.md 6.9): C{("send", family, subtype, body)} and
    C{("wait", ((family, subtype), ...))} steps, the latter satisfied by the
    first of its replies.

    @param profile: C{"icq2003"}, C{"licq"}, C{"miranda"}, C{"pidgin"} or C{"jimm"}.
    """
    status_body = service.SetStatus(userinfo.join_status(status, flags),
                                    userinfo.DcInfo("0.0.0.0", 0, 0, 8, 0x1234)).build()
    caps = location.SetInfo(CAPS_ICQ).build()
    params = icbm.Params(0, 0x0B, 8000, 999, 999, 0).build()
    ready = service.ClientReady(tuple(ready_quads) or tuple(
        (f, v, 0x0110, 0x08E4) for f, v in _FAMILIES)).build()
    offline = icq.Envelope(0, icq.REQ_OFFLINE, b"\x02\x00").build()
    rate_ack = service.RateAck((1, 2, 3, 4, 5)).build()
    if profile == "icq2003":
        return ([_send(1, 0x17, _versions(3)), _wait((1, 0x18)), _send(1, 0x06), _wait((1, 0x07)),
                 _send(1, 0x08, rate_ack)] + _rights("check")
                + [_wait((0x13, 0x03)), _ROSTER_REPLY, _wait((2, 3)), _wait((3, 3)), _wait((4, 5)),
                   _wait((9, 3)), _send(0x13, 0x07), _send(2, 4, caps), _send(4, 2, params),
                   _send(1, 0x1E, status_body), _send(1, 0x02, ready), _send(0x15, 2, offline)])
    if profile == "licq":
        return ([_send(1, 0x17, _versions(4)), _send(1, 0x06), _send(1, 0x0E), _wait((1, 0x07)),
                 _send(1, 0x08, rate_ack)]
                + [_send(4, 2, icbm.Params(c, 0x0B if c == 1 else 3, 8000, 999, 999, 0).build())
                   for c in (1, 2, 4)]
                + [_send(2, 4, caps), _wait((1, 0x18)), _send(1, 0x0E)] + _rights("check")
                + [_ROSTER_REPLY, _send(0x13, 0x07), _wait((9, 3)), _send(1, 0x1E, status_body),
                   _send(1, 0x02, ready), _send(0x15, 2, offline)])
    if profile == "miranda":
        return ([_send(1, 0x17, _versions(4)), _wait((1, 0x18)), _send(1, 0x06), _wait((1, 0x07)),
                 _send(1, 0x08, rate_ack), _send(1, 0x0E)] + _rights("request", buddy_flags=True)
                + [_ROSTER_REPLY, _send(0x13, 0x07), _send(2, 4, caps), _send(1, 0x1E, status_body),
                   _send(1, 0x11, b"\x00\x00\x00\x00"), _send(1, 0x02, ready), _send(0x15, 2, offline)])
    if profile == "pidgin":
        return ([_send(1, 0x17, _versions(4)), _wait((1, 0x18)), _send(1, 0x06), _wait((1, 0x07)),
                 _send(1, 0x08, rate_ack), _send(1, 0x0E)] + _rights("request")
                + [_wait((2, 3)), _send(2, 4, caps), _wait((9, 3)), _send(1, 0x1E, status_body),
                   _send(1, 0x11, b"\x00\x00\x00\x00"), _send(1, 0x04, b"\x00\x18"),
                   _send(1, 0x04, b"\x00\x0d"), _ROSTER_REPLY, _send(0x13, 0x07),
                   _send(1, 0x02, ready), _send(4, 0x10)])
    if profile == "jimm":
        return ([_send(1, 0x17, _versions(4)), _wait((1, 0x18)), _send(1, 0x0E)]
                + _rights("request", buddy_flags=True)
                + [_ROSTER_REPLY, _send(0x13, 0x07), _send(4, 2, params), _send(2, 4, caps),
                   _send(1, 0x1E, status_body), _wait((1, 0x0F)), _send(1, 0x02, ready),
                   _send(0x15, 2, offline)])
    raise ValueError("unknown client profile %r" % (profile,))


PROFILES = ("icq2003", "licq", "miranda", "pidgin", "jimm")


@defer.inlineCallbacks
def bos_start(client, profile, timeout=WAIT, **kw):
    """
    Play a client's BOS start-up on C{client} (after its L{cookie_login}).

    @return: Deferred firing with the L{Received} replies waited for, in order.
    """
    got = []
    for step in profile_steps(profile, **kw):
        if step[0] == "send":
            _, family, subtype, body = step
            if family == icq.FAMILY:
                body = _owned(body, client.uin)
            client.send_snac(family, subtype, body)
        else:
            keys = step[1]
            got.append((yield client.wait_for(
                lambda r: r.snac is not None and r.snac.key in keys, timeout)))
    return got


def _owned(body, uin):
    """A family-0x15 body with the owner UIN filled in."""
    envelope = icq.Envelope.parse(body)
    return icq.Envelope(uin or 0, envelope.type, envelope.sequence, envelope.data).build()


@defer.inlineCallbacks
def defer_until(condition, clock, step=0.01, timeout=WAIT):
    """
    Wait on C{clock} until C{condition()} holds (for what the server sees,
    which sends the client nothing to wait for).
    """
    waited = 0.0
    while not condition():
        if waited >= timeout:
            raise defer.TimeoutError("condition not met within %s s" % (timeout,))
        yield deferLater(clock, step, lambda: None)
        waited += step


def parse_address(address, default_port):
    """Split a BOS address (C{host:port} or C{host}) from a login reply."""
    text = address.decode("ascii", "replace") if isinstance(address, bytes) else address
    host, _, port = text.rpartition(":")
    if not host:
        return text, default_port
    return host, int(port)


@defer.inlineCallbacks
def connect(testcase, reactor, port, host="127.0.0.1", **kw):
    """An L{OscarClient} connected over TCP, disconnected when the test ends."""
    client = OscarClient(reactor, **kw)
    yield connectProtocol(TCP4ClientEndpoint(reactor, host, port), client)

    def close():
        if not client.closed.called:
            client.transport.abortConnection()
        return client.closed

    testcase.addCleanup(close)
    return client
