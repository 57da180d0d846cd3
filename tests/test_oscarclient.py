"""
Tests for L{iserverd.testing.oscarclient} over real loopback TCP, against a
small scripted authorization server written here with the codec.
"""

from twisted.internet import defer, protocol, task
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from iserverd.codec.errors import MalformedPacket
from iserverd.codec.oscar import (
    auth, buddy, flap, icbm, icq, location, logincrypto, privacy, service, snac, ssi, userinfo,
)
from iserverd.core import rateclass
from iserverd.codec.oscar.wire import Tlvs, parse_uin
from iserverd.testing import oscarclient

KEY = b"2935860732"
COOKIE = b"c" * 16
PASSWORDS = {1001: b"secret"}


class ScriptedServer(protocol.Protocol):
    """
    Just enough of an OSCAR server for the client's login helpers: the hello,
    both login kinds for the accounts in L{PASSWORDS}, and the BOS cookie.
    """

    def connectionMade(self):
        self.splitter = flap.Splitter()
        self.sequence = 0x5A00
        self.frames = []
        self.snacs = []
        self.send(flap.CH_SIGNON, flap.HELLO_DATA)

    def send(self, channel, data=b""):
        self.transport.write(flap.encode(flap.Frame(channel, self.sequence, data)))
        self.sequence = flap.next_sequence(self.sequence)

    def reply(self, request, subtype, body):
        self.send(flap.CH_SNAC, snac.encode(snac.Snac(request.family, subtype, 0, request.request_id, body)))

    def dataReceived(self, data):
        try:
            frames = self.splitter.feed(data)
        except MalformedPacket:
            self.transport.loseConnection()
            return
        for frame in frames:
            self.frames.append(frame)
            if frame.channel == flap.CH_SIGNON:
                self.signon(auth.SignOn.parse(frame.data))
            elif frame.channel == flap.CH_SNAC:
                self.snac(snac.decode(frame.data))

    def result(self, name, password):
        uin = parse_uin(name)
        if uin not in PASSWORDS:
            return auth.AuthResult(name, error=auth.LOGIN_INVALID)
        if password != PASSWORDS[uin]:
            return auth.AuthResult(name, error=auth.LOGIN_BAD_PASSWORD)
        return auth.AuthResult(name, b"127.0.0.1:5190", COOKIE)

    def signon(self, signon):
        if signon.kind == auth.SIGNON_ROASTED:
            result = self.result(signon.screen_name, logincrypto.unroast(signon.roasted_password))
            self.send(flap.CH_SIGNOFF, result.build())
            self.transport.loseConnection()
        elif signon.kind == auth.SIGNON_COOKIE and signon.cookie == COOKIE:
            self.send(flap.CH_SNAC, snac.encode(snac.Snac(1, 3, 0, 0x80000001,
                                                          service.FamilyList((1, 2, 3, 4)).build())))

    # BOS: every request answered at once (oscar.md 6.5), except 01,17 while held.
    hold_versions = False

    def bos_reply(self, request):
        empty = {(2, 2): (2, 3, location.RIGHTS_TLVS.build()), (3, 2): (3, 3, buddy.rights()),
                 (4, 4): (4, 5, icbm.Params().build()), (9, 2): (9, 3, privacy.rights()),
                 (0x13, 2): (0x13, 3, ssi.rights()), (0x13, 4): (0x13, 6, ssi.Roster().build()),
                 (0x13, 5): (0x13, 6, ssi.Roster().build()), (1, 0x0E): (1, 0x0F, self.own()),
                 (1, 0x1E): (1, 0x0F, self.own()), (4, 0x10): (4, 0x17, b""),
                 (1, 0x06): (1, 0x07, rateclass.rate_info([(4, 6), (1, 2)]).build()),
                 (1, 0x04): (1, 1, snac.Error(snac.ERR_NOT_DEFINED).build())}
        if request.key == (1, 0x17):
            self.held = request
            if not self.hold_versions:
                self.versions(request)
        elif request.key in empty:
            family, subtype, body = empty[request.key]
            self.send(flap.CH_SNAC, snac.encode(snac.Snac(family, subtype, 0, request.request_id, body)))
        elif request.key == (0x15, 2):
            envelope = icq.Envelope.parse(request.body)
            self.reply(request, 3, envelope.reply(icq.REP_OFFLINE_DONE, icq.offline_done()).build())

    def versions(self, request):
        self.reply(request, 0x18, request.body)
        self.send(flap.CH_SNAC, snac.encode(snac.Snac(1, 0x13, 0, 0x80000002, service.Motd().build())))

    def own(self):
        return userinfo.icq_user(b"1001", signon=0, online_seconds=0).build()

    def snac(self, request):
        self.snacs.append(request.key)
        if request.family != auth.FAMILY:
            self.bos_reply(request)
        elif request.key == (auth.FAMILY, auth.AUTH_KEY_REQUEST):
            name = auth.KeyRequest.parse(request.body).screen_name
            if parse_uin(name) in PASSWORDS:
                self.reply(request, auth.AUTH_KEY_REPLY, auth.KeyReply(KEY).build())
            else:
                self.reply(request, auth.AUTH_REPLY, auth.AuthResult(name, error=auth.LOGIN_DELETED).build())
        elif request.key == (auth.FAMILY, auth.AUTH_LOGIN):
            login = auth.Md5Login.parse(request.body)
            known = PASSWORDS.get(parse_uin(login.screen_name), b"")
            ok = logincrypto.md5_matches(KEY, login.digest, login.new_hash, known)
            result = self.result(login.screen_name, known if ok else None)
            self.reply(request, auth.AUTH_REPLY, result.build())
            self.send(flap.CH_SIGNOFF)
            self.transport.loseConnection()


class ServerMixin:
    """A L{ScriptedServer} listening on loopback; C{self.servers} are its connections."""

    def setUp(self):
        from twisted.internet import reactor

        self.reactor = reactor
        factory = protocol.ServerFactory.forProtocol(ScriptedServer)
        self.servers = []
        build = factory.buildProtocol

        def keep(addr):
            server = build(addr)
            self.servers.append(server)
            return server

        factory.buildProtocol = keep
        self.port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)

    def connect(self, **kw):
        return oscarclient.connect(self, self.reactor, self.port.getHost().port, **kw)


class ClientTests(ServerMixin, unittest.TestCase):
    """
    The test client frames, queues and logs in over real TCP.
    """

    @defer.inlineCallbacks
    def test_roasted(self):
        """A roasted login of a right password gets the cookie and the BOS address."""
        client = yield self.connect()
        result = yield client.roasted_login(1001, b"secret")
        self.assertEqual(result, auth.AuthResult(b"1001", b"127.0.0.1:5190", COOKIE))
        self.assertEqual(oscarclient.parse_address(result.bos_address, 1), ("127.0.0.1", 5190))
        yield client.closed

    @defer.inlineCallbacks
    def test_roastedWrong(self):
        """A wrong password gets error 0x0005."""
        client = yield self.connect()
        result = yield client.roasted_login(1001, b"wrong")
        self.assertEqual(result.error, auth.LOGIN_BAD_PASSWORD)

    @defer.inlineCallbacks
    def test_md5(self):
        """Both hash variants, and a mislabelled one, log in; the server sees the marker."""
        for new_hash, marker in ((True, None), (False, None), (True, False)):
            client = yield self.connect()
            result = yield client.md5_login(1001, b"secret", new_hash, marker)
            self.assertTrue(result.ok, (new_hash, marker))
            yield client.closed
            login = auth.Md5Login.parse(snac.decode(self.servers[-1].frames[-1].data).body)
            self.assertEqual(login.new_hash, new_hash if marker is None else marker)

    @defer.inlineCallbacks
    def test_md5Unknown(self):
        """An unknown UIN is refused at the key request."""
        client = yield self.connect()
        result = yield client.md5_login(4242, b"secret")
        self.assertEqual(result.error, auth.LOGIN_DELETED)

    @defer.inlineCallbacks
    def test_cookie(self):
        """The cookie login waits for the hello and fires with the 01,03 family list."""
        client = yield self.connect()
        families = yield client.cookie_login(COOKIE)
        self.assertEqual(service.FamilyList.parse(families.snac.body).families, (1, 2, 3, 4))
        self.assertEqual(families.snac.request_id, 0x80000001)
        self.assertEqual(client.snacs(1, 3), [families.snac])
        self.assertEqual(families.command, (1, 3))

    @defer.inlineCallbacks
    def test_sequenceAndRequestIds(self):
        """Frames carry consecutive sequence numbers and SNACs consecutive request ids."""
        client = yield self.connect(sequence=0x7FFF)
        yield client.wait_hello()
        client.keep_alive()
        first = client.send_snac(1, 0x17, b"")
        second = client.send_snac(1, 0x06)
        yield oscarclient.defer_until(lambda: len(self.servers[-1].frames) == 3, self.reactor)
        frames = self.servers[-1].frames
        self.assertEqual([f.sequence for f in frames], [0x7FFF, 0, 1])
        self.assertEqual((first, second), (1, 2))
        self.assertEqual(frames[0], flap.Frame(flap.CH_KEEPALIVE, 0x7FFF))


class ProfileTests(ServerMixin, unittest.TestCase):
    """
    The test client plays each client's BOS start-up of oscar.md 6.9, sending
    only after the replies that client waits for.
    """

    @defer.inlineCallbacks
    def start(self, profile):
        client = yield self.connect()
        yield client.cookie_login(COOKIE, uin=1001)
        got = yield oscarclient.bos_start(client, profile)
        yield oscarclient.defer_until(lambda: (1, 2) in self.servers[-1].snacs, self.reactor)
        return client, got, self.servers[-1].snacs

    @defer.inlineCallbacks
    def test_profiles(self):
        """Every profile completes against a server that answers each request, and ends ready."""
        for profile in oscarclient.PROFILES:
            client, got, sent = yield self.start(profile)
            self.assertIn((1, 0x02), sent, profile)
            self.assertEqual(got[0].command, (1, 0x18) if profile != "licq" else (1, 0x07), profile)
            client.transport.loseConnection()
            yield client.closed

    @defer.inlineCallbacks
    def test_orders(self):
        """licq sends 01,17, 01,06 and 01,0E at once; Jimm never asks for rates; Pidgin asks 04,10."""
        _, _, sent = yield self.start("licq")
        self.assertEqual(sent[:3], [(1, 0x17), (1, 0x06), (1, 0x0E)])
        _, _, sent = yield self.start("jimm")
        self.assertNotIn((1, 0x06), sent)
        yield oscarclient.defer_until(lambda: (0x15, 2) in self.servers[-1].snacs, self.reactor)
        _, _, sent = yield self.start("pidgin")
        yield oscarclient.defer_until(lambda: (4, 0x10) in self.servers[-1].snacs, self.reactor)
        self.assertLess(sent.index((0x13, 0x07)), sent.index((1, 0x02)))

    @defer.inlineCallbacks
    def test_waitsForVersions(self):
        """Miranda sends nothing after 01,17 until the 01,18 arrives."""
        ScriptedServer.hold_versions = True
        self.addCleanup(setattr, ScriptedServer, "hold_versions", False)
        client = yield self.connect()
        yield client.cookie_login(COOKIE, uin=1001)
        done = oscarclient.bos_start(client, "miranda")
        server = self.servers[-1]
        yield oscarclient.defer_until(lambda: server.snacs, self.reactor)
        yield task.deferLater(self.reactor, 0.2, lambda: None)
        self.assertEqual(server.snacs, [(1, 0x17)])
        server.versions(server.held)
        yield done
        yield oscarclient.defer_until(lambda: (1, 0x02) in server.snacs, self.reactor)

    def test_unknownProfile(self):
        """An unknown profile name is a test's mistake."""
        self.assertRaises(ValueError, oscarclient.profile_steps, "trillian")


class FramingTests(unittest.TestCase):
    """
    The client's receiving side, on an in-memory transport.
    """

    def setUp(self):
        from twisted.internet.task import Clock

        self.client = oscarclient.OscarClient(Clock(), max_data=64)
        self.transport = StringTransport()
        self.client.makeConnection(self.transport)

    def test_split(self):
        """Frames cut anywhere arrive whole; SNACs are decoded, other channels kept as frames."""
        wire = (flap.hello(1)
                + flap.encode(flap.Frame(2, 2, snac.encode(snac.Snac(4, 7, 0, 9, b"body"))))
                + flap.encode(flap.Frame(2, 3, b"short")))
        for i in range(len(wire)):
            self.client.dataReceived(wire[i:i + 1])
        hello, message, broken = self.client.received
        self.assertEqual((hello.command, hello.snac), (("channel", 1), None))
        self.assertEqual((message.command, message.snac.body), ((4, 7), b"body"))
        self.assertEqual((broken.command, broken.frame.data), (("channel", 2), b"short"))
        self.assertEqual(self.client.of((4, 7)), [message])

    def test_oversized(self):
        """A frame over the client's maximum breaks the connection."""
        self.client.dataReceived(flap.encode(flap.Frame(2, 0, bytes(65))))
        self.assertIn("exceeds", self.client.broken)
        self.assertTrue(self.transport.disconnecting)

    def test_signOff(self):
        """sign_off sends an empty channel-4 frame and closes."""
        self.client.sign_off()
        self.assertEqual(flap.decode(self.transport.value()), flap.Frame(4, 0x2000))
        self.assertTrue(self.transport.disconnecting)

    def test_hello(self):
        """hello sends the version and any TLVs, like licq's TLV 0x8003."""
        self.client.hello([(0x8003, b"\x00\x10\x00\x00")])
        frame = flap.decode(self.transport.value())
        self.assertEqual(auth.SignOn.parse(frame.data).tlvs, Tlvs.of((0x8003, b"\x00\x10\x00\x00")))

    def test_raw(self):
        """send_raw writes bytes untouched (for broken-frame tests)."""
        self.client.send_raw(b"\x2b\x00")
        self.assertEqual(self.transport.value(), b"\x2b\x00")
