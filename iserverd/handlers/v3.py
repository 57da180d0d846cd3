# -*- test-case-name: tests.test_handlers_v3,tests.test_v3_loopback,tests.test_interop -*-
"""
ICQ v3 ("Groupware") packet handlers and the v3 speaker.

L{V3Handler} is what the transport calls for a datagram whose first WORD is 3:
it decodes the packet (L{iserverd.codec.v3}), checks the sender's session
where the command needs one, acknowledges it and hands the meaning to the
shared L{iserverd.core.network.Network}, the same object that serves v5
clients.  L{V3Speaker} builds the server packets the network asks for, in v3
form, so v3 and v5 users see each other and talk through one routing layer.

Message flow (v3.md sections 4-11)
==================================

A v3 session is the UIN plus the IP address and UDP port its LOGON came from;
there is no session id.  Every command except ACK, LOGON, GET_DEPS and the
registration requests must come from that address, else the answer is
NOT_CONNECTED (and Miranda logs in again by itself).  A LOGOFF from anyone
else is ignored, so as not to start a second reconnect (v3.md section 21 #21).

A session command is checked, then compared with the last few (SEQ1,
command) pairs of the session: a retransmission is acknowledged again and not
acted on twice.  Otherwise it is acknowledged and handed on.  Two commands
wait for their work before the ACK: a message is acknowledged only once it is
in the recipient's resend queue or committed to the database (not at all
while the database is away, so the client resends it), and a LOGON only once
it is accepted, so that "try again" can be a BUSY without ACK, which makes the
client retry by itself (v3.md section 17).

Users with the broadcast right send type 0x0014 messages to everybody or to
one department, online only or stored for the offline too (v3.md section 12).

Offline messages go out only when the client asks (SYSMSG_REQ); each is
deleted when the client acknowledges its SYSMSG_OFFLINE, so SYSMSG_DONE_ACK
deletes nothing further, and a message stored during the run survives it
(v3.md section 21 #15).

Long packets
============

A reliable packet longer than C{V3 packet mtu} goes out as FRAGMENTs
(v3.md section 16.1).  The speaker turns it into one L{Piece} per fragment;
the network numbers the pieces of one packet with consecutive SEQ1s, and
L{V3Speaker.encode} rebuilds the inner packet with the first piece's SEQ1 and
cuts out its own piece with L{iserverd.codec.v3.split}.  So each fragment is
queued, resent and acknowledged on its own, all share one SEQ2, and the
client's extra ACK of the joined packet repeats the first fragment's.
Fragments from clients are joined by a bounded L{v3.Reassembler}.
"""

from dataclasses import dataclass

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from iserverd.codec import v3
from iserverd.codec.errors import MalformedPacket
from iserverd.core import network as net
from iserverd.core.interfaces import ISpeaker, Outgoing
from iserverd.core.session import ClientInfo
from iserverd.storage.departments import MAX_DEPARTMENTS, PostgresDepartments
from iserverd.storage.interfaces import LIST_INVISIBLE, LIST_VISIBLE, DatabaseUnavailable

MSG_PLAIN = 0x0001
MSG_CONTACTS = 0x0013
MSG_BROADCAST = 0x0014

# HELLO values that IServerd takes from its global configuration (v3.md 7.3).
DEPARTMENT_LIST_VERSION = 1
EXTERNALS = 0

TEXT_ALREADY_ONLINE = "User %d already connected.\r\nTry again later."


def _pieces(text, size):
    """Cut a text into pieces of at most C{size} bytes (at least one piece)."""
    if len(text) <= size:
        return [text]
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass(frozen=True)
class Piece(Outgoing):
    """
    Fragment C{index} of C{count} of a reliable packet too long for one
    datagram.  C{command}, C{data} and C{seq2} are the inner packet's.
    """

    index: int = 0
    count: int = 1


@implementer(ISpeaker)
class V3Speaker:
    """
    Builds v3 server packets (v3.md sections 7.3, 10.4, 11).
    """

    version = v3.VERSION

    def __init__(self, config):
        self.config = config
        self.timeout = config.v3_max_timeout
        self.retries = config.v3_max_retries
        self.ping_time = config.v3_ping_time
        self.mtu = config.v3_packet_mtu
        self.max_text = config.v3_max_msgsize

    def encode(self, session, seq1, outgoing):
        if isinstance(outgoing, Piece):
            # The pieces of one packet took consecutive SEQ1s, so the inner
            # packet's SEQ1 is the first piece's (v3.md 16.1).
            inner_seq1 = (seq1 - outgoing.index) & 0xFFFF
            inner = v3.encode(v3.Packet(outgoing.command, inner_seq1, outgoing.seq2, session.uin, outgoing.data))
            return v3.split(inner, self.mtu)[outgoing.index]
        return v3.encode(v3.Packet(outgoing.command, seq1, outgoing.seq2, session.uin, outgoing.data))

    def reliable(self, command, data=b"", seq2=0):
        """
        One reliable packet, as one L{Outgoing} or, when it is longer than the
        MTU, as one L{Piece} per fragment.
        """
        probe = v3.encode(v3.Packet(command, 0, seq2, 0, data))
        count = len(v3.split(probe, self.mtu))
        if count == 1:
            return [Outgoing(command, data, seq2)]
        return [Piece(command, data, seq2, index, count) for index in range(count)]

    def hello(self, session, seq2):
        account = session.account
        data = v3.Hello(
            client_ip=session.addr[0],
            externals=EXTERNALS,
            dep_version=DEPARTMENT_LIST_VERSION,
            must_change_password=int(bool(getattr(account, "must_change_password", False))),
            may_broadcast=int(bool(getattr(account, "can_broadcast", False))),
            # Clients ping this often; the server waits the full ping time.
            ping_interval=max(self.ping_time - 10, 1),
            resend_timeout=self.timeout,
            retries=self.retries,
        ).build()
        return self.reliable(v3.SRV_HELLO, data, seq2)

    def user_online(self, session, other):
        """
        Address fields only for v3 subjects: Groupware clients crash when a
        client of another version connects to them directly (v3.md 10.4).
        """
        info = other.info
        direct = other.version == v3.VERSION and not (other.account is not None and other.account.hide_ip)
        data = v3.UserOnline(
            uin=other.uin,
            ip=other.addr[0] if direct else "0.0.0.0",
            tcp_port=(info.tcp_port & 0xFFFFFFFF) if direct else 0,
            internal_ip=info.internal_ip if direct else "0.0.0.0",
            dc_type=(info.dc_type & 0xFF) if direct else 0,
            status=other.status & 0xFFFF,
            flags=other.flags & 0xFFFF,
            tcp_version=info.tcp_version & 0xFFFF,
        ).build()
        return self.reliable(v3.SRV_USER_ONLINE, data)

    def user_offline(self, session, uin):
        return self.reliable(v3.SRV_USER_OFFLINE, v3.UinBody(uin).build())

    def user_status(self, session, other):
        data = v3.UserStatus(other.uin, other.status & 0xFFFF, other.flags & 0xFFFF).build()
        return self.reliable(v3.SRV_USER_STATUS, data)

    def message(self, session, from_uin, msg_type, text):
        """
        SYSMSG_ONLINE, SEQ2 0 (v3.md 21 #23); v3 clients get the type's low
        byte only, and a contact list (0x13) as a plain message (v3.md 11.2).
        """
        msg_type &= 0xFF
        if msg_type == MSG_CONTACTS:
            msg_type = MSG_PLAIN
        packets = []
        for piece in _pieces(text, self.max_text):
            packets += self.reliable(v3.SRV_SYSMSG_ONLINE, v3.Message(from_uin, msg_type, piece).build())
        return packets

    def offline_message(self, session, message):
        """SYSMSG_OFFLINE with the true UTC time (v3.md 21 #14) and the type's low byte."""
        sent_at = int(message.sent_at.timestamp()) & 0xFFFFFFFF
        packets = []
        for piece in _pieces(message.body, self.max_text):
            body = v3.OfflineMessage(message.from_uin, sent_at, message.msg_type & 0xFF, piece)
            packets += self.reliable(v3.SRV_SYSMSG_OFFLINE, body.build())
        return packets

    def end_offline(self, session, seq2):
        return self.reliable(v3.SRV_SYSMSG_DONE, b"", seq2)

    def list_done(self, session):
        return self.reliable(v3.SRV_LIST_DONE)

    def deps_list1(self, session, seq2, departments):
        """DEPS_LIST1, the answer to GET_DEPS1 (v3.md 7.8)."""
        return self.reliable(v3.SRV_DEPS_LIST1, v3.DepsList1(DEPARTMENT_LIST_VERSION, departments).build(), seq2)


def _session_command(method):
    """
    Run C{method(self, session, packet, addr, request)} only for a packet from
    the sender's own login (UIN, IP and port), with its parsed parameters; a
    repeat of a recently handled packet is acknowledged again and not acted on
    twice.
    """

    def handle(self, packet, addr):
        session = self.session_for(packet, addr)
        if session is None:
            return None
        request = v3.parse_client_body(packet)
        if session.is_repeat(packet.seq1, packet.command):
            self.ack(packet, addr)
            return None
        return method(self, session, packet, addr, request)

    handle.__name__ = method.__name__
    handle.__doc__ = method.__doc__
    return handle


class V3Handler:
    """
    @ivar table: command code to handler method (the transport's dispatch table).
    @ivar reassembler: the L{v3.Reassembler} of client fragments.
    @ivar departments: the L{iserverd.storage.departments.IDepartmentStore}.
    """

    log = Logger()
    version = v3.VERSION

    def __init__(self, network, send, config, clock=None, departments=None):
        self.network = network
        self.send = send
        self.config = config
        self.clock = network.clock if clock is None else clock
        self.speaker = V3Speaker(config)
        self.departments = PostgresDepartments(network.storage) if departments is None else departments
        # IServerd purges unjoined fragments after ten ping times (v3.md 16.2).
        self.reassembler = v3.Reassembler(max_age=10.0 * config.v3_ping_time)
        self._logging_in = set()
        self.table = {
            v3.CMD_ACK: self.client_ack,
            v3.CMD_LOGON: self.logon,
            v3.CMD_GET_DEPS: self.get_deps,
            v3.CMD_GET_EXTERNALS: self.get_externals,
            v3.CMD_PING: self.ping,
            v3.CMD_PING2: self.ping,
            v3.CMD_LOGOFF: self.logoff,
            v3.CMD_CONTACT_LIST: self.contact_list,
            v3.CMD_USER_ADD: self.user_add,
            v3.CMD_VISIBLE_LIST: self.visible_list,
            v3.CMD_INVISIBLE_LIST: self.invisible_list,
            v3.CMD_SET_STATUS: self.set_status,
            v3.CMD_THRU_SERVER: self.send_message,
            v3.CMD_AUTHORIZE: self.send_message,
            v3.CMD_SYSMSG_REQ: self.offline_request,
            v3.CMD_SYSMSG_DONE_ACK: self.offline_done,
            v3.CMD_GET_DEPS1: self.get_deps1,
            v3.CMD_FRAGMENT: self.fragment,
            v3.CMD_RECONNECT: self.acknowledge,
            v3.CMD_USAGE_STATS: self.acknowledge,
            v3.CMD_SET_STATE: self.acknowledge,
            v3.CMD_BROADCAST_REQ: self.acknowledge,
            v3.CMD_BROADCAST_MSG_ALL: self.broadcast,
            v3.CMD_BROADCAST_MSG_ONLINE: self.broadcast,
        }

    def decode(self, datagram):
        return v3.decode(datagram)

    def dispatch(self, packet, addr):
        """Handle a decoded packet as the transport would (used for joined fragments)."""
        method = self.table.get(packet.command)
        if method is None:
            return self.unknown(packet, addr)
        return method(packet, addr)

    # --- replies that need no acknowledgement ---------------------------------

    def reply(self, request, addr, command, data=b""):
        """An unreliable answer: SEQ1 0, the request's SEQ2 and UIN (v3.md 3.2)."""
        self.send(v3.encode(v3.reply_to(request, command, data)), addr)

    def ack(self, packet, addr):
        self.send(v3.encode(v3.ack_for(packet)), addr)

    def not_connected(self, packet, addr):
        self.reply(packet, addr, v3.SRV_NOT_CONNECTED)

    def busy(self, packet, addr):
        self.reply(packet, addr, v3.SRV_BUSY)

    def wrong_password(self, packet, addr):
        self.reply(packet, addr, v3.SRV_WRONG_PASSWD)

    def login_err(self, packet, addr, text):
        data = v3.Text(text.encode(self.config.client_charset, "replace")).build()
        self.reply(packet, addr, v3.SRV_LOGIN_ERR, data)

    def session_for(self, packet, addr):
        """
        The sender's session, if the packet comes from its address and port;
        else NOT_CONNECTED is sent and L{None} returned.  Any authenticated
        packet counts as a keep-alive.
        """
        session = self.network.sessions.get(packet.uin)
        if session is None or session.version != self.version or not session.matches(addr, None):
            if session is not None:
                self.log.info(
                    "v3 0x{command:04x} for uin {uin} from {host}:{port} does not match its session; refused",
                    command=packet.command, uin=packet.uin, host=addr[0], port=addr[1],
                )
            self.not_connected(packet, addr)
            return None
        self.network.keep_alive(session)
        return session

    def _encode_departments(self, departments):
        charset = self.config.client_charset
        return tuple(
            (code & 0xFFFFFFFF, name.encode(charset, "replace")) for code, name in departments
        )

    # --- commands without a session -------------------------------------------

    def client_ack(self, packet, addr):
        """A client acknowledges one of our reliable packets (SEQ1 ours, SEQ2 0)."""
        session = self.network.sessions.get(packet.uin)
        if session is not None and session.version == self.version and session.matches(addr, None):
            self.network.ack(session, packet.seq1)

    def logon(self, packet, addr):
        """
        LOGON: HELLO after the ACK, or the ACK and a refusal: WRONG_PASSWD,
        LOGIN_ERR with a text; or BUSY alone when the server cannot check it
        now (the client resends in 10 seconds).
        """
        request = v3.Logon.parse(packet.data)
        uin = packet.uin
        key = (uin, addr)
        if key in self._logging_in:
            return None  # a resend while the first copy is being checked
        existing = self.network.sessions.get(uin)
        if (existing is not None and existing.version == self.version
                and existing.matches(addr, None) and self._hello_pending(existing)):
            # The client has not seen our HELLO: this is a resend of the LOGON
            # that opened the session, and the HELLO is resent by the queue.
            self.ack(packet, addr)
            return None
        if request.oversized():
            self.ack(packet, addr)
            self.wrong_password(packet, addr)
            return None
        info = ClientInfo(
            tcp_port=request.tcp_port & 0xFFFF, internal_ip=request.internal_ip,
            dc_type=request.dc_type, tcp_version=request.tcp_version & 0xFFFF,
        )

        def accepted(session):
            self.reassembler.forget(uin)
            self.ack(packet, addr)

        self._logging_in.add(key)
        d = self.network.login(
            self.speaker, uin, request.password, addr, 0, request.status, request.status_flags,
            info, packet.seq2, on_accept=accepted, repeats=False, offline_on_request=True,
        )

        def answer(result):
            outcome, detail = result
            if outcome == net.LOGIN_OK:
                return
            if outcome == net.LOGIN_TRY_AGAIN:
                self.busy(packet, addr)
                return
            self.ack(packet, addr)
            if outcome == net.LOGIN_BAD_PASSWORD:
                self.wrong_password(packet, addr)
            elif outcome == net.LOGIN_BUSY:
                self.login_err(packet, addr, TEXT_ALREADY_ONLINE % (uin,))
            elif outcome in (net.LOGIN_LOCKED, net.LOGIN_TABLE_FULL, net.LOGIN_DISABLED):
                self.login_err(packet, addr, detail)

        def done(result):
            self._logging_in.discard(key)
            return result

        return d.addCallback(answer).addBoth(done)

    @staticmethod
    def _hello_pending(session):
        """Whether the session's HELLO (its SEQ1 0) still waits for the client's ACK."""
        entry = session.pending.get(0)
        return entry is not None and v3.decode(entry.datagram).command == v3.SRV_HELLO

    def get_deps(self, packet, addr):
        """
        GET_DEPS, the Groupware pseudo-login: the department list for a right
        password when the UIN is not online (v3.md 7.8).  No session is made.
        """
        request = v3.GetDeps.parse(packet.data)
        if request.oversized():
            self.wrong_password(packet, addr)
            return None
        throttle = self.network.throttle
        if throttle is not None and throttle.check(self.clock.seconds(), addr[0], request.uin):
            self.busy(packet, addr)
            return None
        d = self.network.verify(request.uin, request.password)

        def answer(ok):
            if ok is None:
                self.busy(packet, addr)
                return None
            if not ok:
                if throttle is not None:
                    throttle.failed(self.clock.seconds(), addr[0], request.uin)
                self.wrong_password(packet, addr)
                return None
            if self.network.sessions.get(request.uin) is not None:
                self.busy(packet, addr)
                return None
            return self.departments.departments(MAX_DEPARTMENTS).addCallbacks(send_list, unavailable)

        def send_list(departments):
            self.ack(packet, addr)
            data = v3.DepsList(DEPARTMENT_LIST_VERSION, self._encode_departments(departments)).build()
            self.send(v3.encode(v3.Packet(v3.SRV_DEPS_LIST, 0, packet.seq2, request.uin, data)), addr)

        def unavailable(failure):
            failure.trap(DatabaseUnavailable)
            self.busy(packet, addr)

        return d.addCallback(answer)

    def internal_only(self, packet, addr):
        """Commands IServerd generated internally are dropped when they come from the network (v3.md 18)."""
        self.log.info(
            "v3 internal-only command 0x{command:04x} from {host}:{port} dropped",
            command=packet.command, host=addr[0], port=addr[1],
        )

    def get_externals(self, packet, addr):
        """GET_EXTERNALS: acknowledged only (there is no externals list)."""
        self.ack(packet, addr)

    def unknown(self, packet, addr):
        """
        Internal-only commands are dropped; any other command without a
        handler is acknowledged (after the session check, unless it is one of
        the commands clients send before logging in) and logged.
        """
        command = packet.command
        if command in v3.INTERNAL_ONLY_COMMANDS:
            self.internal_only(packet, addr)
            return None
        if command not in v3.SESSIONLESS_COMMANDS:
            session = self.session_for(packet, addr)
            if session is None:
                return None
            session.is_repeat(packet.seq1, command)
        self.ack(packet, addr)
        self.log.debug("v3 command 0x{command:04x} from uin {uin} acknowledged only",
                       command=command, uin=packet.uin)
        return None

    # --- session commands -----------------------------------------------------

    def logoff(self, packet, addr):
        """LOGOFF: no reply; one from a sender that is not online is ignored (v3.md 21 #21)."""
        session = self.network.sessions.get(packet.uin)
        if session is None or session.version != self.version or not session.matches(addr, None):
            return None
        request = v3.Logoff.parse(packet.data)
        if request.disconnects:
            self.reassembler.forget(packet.uin)
            self.network.logoff(session)
        return None

    @_session_command
    def ping(self, session, packet, addr, request):
        """PING / PING2 (the session check already renewed the lifetime)."""
        self.ack(packet, addr)

    @_session_command
    def acknowledge(self, session, packet, addr, request):
        """RECONNECT, USAGE_STATS, SET_STATE, 0x0604: the session is checked and the packet acknowledged."""
        self.ack(packet, addr)

    @_session_command
    def contact_list(self, session, packet, addr, request):
        """
        CONTACT_LIST: up to 255 UINs per packet, each answered with the online
        ones and LIST_DONE.  It never triggers offline delivery (v3.md 10.3).
        """
        self.ack(packet, addr)
        return self.network.contact_list(session, request.uins, final=False)

    @_session_command
    def user_add(self, session, packet, addr, request):
        self.ack(packet, addr)
        self.network.add_contact(session, request.uin)

    @_session_command
    def visible_list(self, session, packet, addr, request):
        """VISIBLE_LIST, handled as in v5 (v3.md 21 #4)."""
        self.ack(packet, addr)
        self.network.change_list(session, LIST_VISIBLE, add=request.uins)

    @_session_command
    def invisible_list(self, session, packet, addr, request):
        """INVISIBLE_LIST, handled as in v5 (v3.md 21 #4)."""
        self.ack(packet, addr)
        self.network.change_list(session, LIST_INVISIBLE, add=request.uins)

    @_session_command
    def set_status(self, session, packet, addr, request):
        """SET_STATUS: WORD status, then WORD flags when present, else 0 (v3.md 21 #2)."""
        self.ack(packet, addr)
        flags = 0 if request.flags is None else request.flags
        self.network.set_status(session, request.status, flags)

    @_session_command
    def send_message(self, session, packet, addr, request):
        """
        THRU_SERVER and AUTHORIZE: acknowledged once the message is queued for
        the online recipient or stored; not acknowledged (so the client
        resends) while the database is away.
        """
        limit = self.config.v3_max_msgsize
        if len(request.text) > limit:
            # Refuse the message, keep the session (IServerd disconnected the sender).
            self.ack(packet, addr)
            self.log.info("uin {uin}: message of {size} bytes to {to} refused (limit {limit})",
                          uin=session.uin, size=len(request.text), to=request.uin, limit=limit)
            notice = "Your message to %d was not delivered: it is longer than %d bytes." % (request.uin, limit)
            self.network.send_reliable(
                session, self.speaker.message(session, net.SYSTEM_UIN, MSG_PLAIN, notice.encode("ascii"))
            )
            return None
        d = self.network.send_message(session.uin, request.uin, request.msg_type, request.text, session)

        def accepted(_):
            self.ack(packet, addr)

        def failed(failure):
            failure.trap(DatabaseUnavailable)
            session.forget_repeat(packet.seq1, packet.command)
            self.log.warn("message from {uin} not acknowledged, database unavailable", uin=session.uin)

        return d.addCallbacks(accepted, failed)

    @_session_command
    def offline_request(self, session, packet, addr, request):
        """SYSMSG_REQ: the stored messages, then SYSMSG_DONE with the request's SEQ2."""
        self.ack(packet, addr)
        return self.network.deliver_offline(session, seq2=packet.seq2)

    @_session_command
    def offline_done(self, session, packet, addr, request):
        """
        SYSMSG_DONE_ACK: acknowledged only; every delivered message was deleted
        when the client acknowledged it (v3.md 21 #15).
        """
        self.ack(packet, addr)

    @_session_command
    def get_deps1(self, session, packet, addr, request):
        """GET_DEPS1: DEPS_LIST1 after the ACK; neither while the database is away."""
        d = self.departments.departments(MAX_DEPARTMENTS)

        def send_list(departments):
            if not session.active:
                return
            self.ack(packet, addr)
            packets = self.speaker.deps_list1(session, packet.seq2, self._encode_departments(departments))
            self.network.send_reliable(session, packets)

        def failed(failure):
            failure.trap(DatabaseUnavailable)
            session.forget_repeat(packet.seq1, packet.command)
            self.log.warn("department list for {uin} postponed, database unavailable", uin=session.uin)

        return d.addCallbacks(send_list, failed)

    @_session_command
    def fragment(self, session, packet, addr, request):
        """
        FRAGMENT: each piece is acknowledged; the joined packet is handled as
        if it had come whole from the same address (v3.md 16.2).
        """
        self.ack(packet, addr)
        joined = self.reassembler.add(packet, self.clock.seconds())
        if joined is None:
            return None
        inner = v3.decode(joined)
        if inner.uin != session.uin or inner.command == v3.CMD_FRAGMENT:
            raise MalformedPacket(
                "joined fragments of uin %d hold command 0x%04x for uin %d"
                % (session.uin, inner.command, inner.uin)
            )
        return self.dispatch(inner, addr)

    def broadcast(self, packet, addr):
        """
        BROADCAST_MSG_ALL / BROADCAST_MSG_ONLINE (v3.md 12): type 0x0014 from
        the sender to every online user of the department (0 = everybody)
        and, for ALL, stored for every other account of it.  A sender without
        the broadcast right gets nothing, not even an ACK; the ACK waits until
        the copies are stored.  UIN 1 is the administrator's, never the
        network's.
        """
        if packet.uin == net.SYSTEM_UIN:
            self.internal_only(packet, addr)
            return None
        session = self.session_for(packet, addr)
        if session is None:
            return None
        request = v3.Broadcast.parse(packet.data)
        if session.is_repeat(packet.seq1, packet.command):
            self.ack(packet, addr)
            return None
        return self._broadcast(session, packet, addr, request)

    @defer.inlineCallbacks
    def _broadcast(self, session, packet, addr, request):
        department = request.department
        try:
            allowed = yield self.departments.may_broadcast(session.uin)
            if not allowed:
                session.forget_repeat(packet.seq1, packet.command)
                self.log.info("uin {uin}: broadcast without the broadcast right ignored", uin=session.uin)
                return
            if len(request.text) > self.config.v3_max_msgsize:
                self.ack(packet, addr)
                self.log.info("uin {uin}: broadcast of {size} bytes refused", uin=session.uin, size=len(request.text))
                return
            members = None if department == 0 else (yield self.departments.members(department))
            targets = [
                other.uin for other in self.network.sessions
                if other.active and other.uin != session.uin and (members is None or other.uin in members)
            ]
            stored = 0
            if packet.command == v3.CMD_BROADCAST_MSG_ALL:
                # Stored first: if that fails the client resends, and nobody got a copy twice.
                sent_at = net.utc(self.network.now())
                skip = set(targets) | {session.uin}
                stored = yield self.departments.store_broadcast(
                    session.uin, sent_at, MSG_BROADCAST, request.text, department, skip
                )
        except DatabaseUnavailable:
            session.forget_repeat(packet.seq1, packet.command)
            self.log.warn("broadcast from {uin} not acknowledged, database unavailable", uin=session.uin)
            return
        for uin in targets:
            d = self.network.send_message(session.uin, uin, MSG_BROADCAST, request.text, session)
            d.addErrback(lambda f, uin=uin: self.log.warn(
                "broadcast copy for {uin} lost: {reason}", uin=uin, reason=f.getErrorMessage()))
        self.ack(packet, addr)
        self.log.info("uin {uin} broadcast to department {department}: {online} online, {stored} stored",
                      uin=session.uin, department=department, online=len(targets), stored=stored)
