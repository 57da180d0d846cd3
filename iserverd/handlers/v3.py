# -*- test-case-name: tests.test_handlers_v3,tests.test_v3_loopback,tests.test_interop -*-
"""
ICQ v3 ("Groupware") packet handlers.

L{V3Handler} is what the transport calls for a datagram whose first WORD is 3:
it decodes the packet (L{iserverd.codec.v3}), checks the sender's session
where the command needs one, acknowledges it and hands the meaning to the
shared L{iserverd.core.network.Network}, the same object that serves v5
clients.  L{iserverd.speakers.v3.V3Speaker} builds the server packets the
network asks for, in v3 form, so v3 and v5 users see each other and talk
through one routing layer.  User information, notes, search and registration
are served by L{iserverd.handlers.v3_meta.V3Meta}.

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

The speaker cuts a reliable packet longer than C{V3 packet mtu} into
FRAGMENTs (L{iserverd.speakers.v3}).  Fragments from clients are joined by a
bounded L{v3.Reassembler} and the joined packet handled as if it had come
whole.
"""

from twisted.internet import defer
from twisted.logger import Logger

from iserverd.codec import v3
from iserverd.codec.errors import MalformedPacket
from iserverd.core import network as net
from iserverd.core.guards import SharedCommands, relay_message, session_command
from iserverd.core.session import ClientInfo, LoginRequest, unacknowledged
from iserverd.handlers.v3_meta import V3Meta
from iserverd.speakers.v3 import DEPARTMENT_LIST_VERSION, encode_departments
from iserverd.storage.departments import MAX_DEPARTMENTS
from iserverd.storage.interfaces import DatabaseUnavailable

MSG_BROADCAST = 0x0014

TEXT_ALREADY_ONLINE = "User %d already connected.\r\nTry again later."


class V3Handler(SharedCommands):
    """
    @ivar table: command code to handler method (the transport's dispatch table).
    @ivar reassembler: the L{v3.Reassembler} of client fragments.
    @ivar departments: the L{iserverd.storage.departments.IDepartmentStore}.
    @ivar authorization: the L{iserverd.core.authorization.Authorization}
        check shared with v5.
    @ivar meta: the L{V3Meta} serving info, search and registration.
    """

    log = Logger()
    version = v3.VERSION
    # No session id: the address and port identify a login.
    session_ids = False

    def __init__(self, network, send, config, speaker, departments, directory, authorization, accounts,
                 clock=None):
        """
        @param speaker: the L{iserverd.speakers.v3.V3Speaker} of this server.
        @param directory: the L{iserverd.storage.directory.IDirectory}.
        @param accounts: the L{iserverd.storage.interfaces.IUserStore}.
        """
        self.network = network
        self.send = send
        self.config = config
        self.clock = network.clock if clock is None else clock
        self.speaker = speaker
        self.departments = departments
        self.authorization = authorization
        self.charset = config.client_charset
        # IServerd purges unjoined fragments after ten ping times (v3.md 16.2).
        self.reassembler = v3.Reassembler(max_age=10.0 * config.v3_ping_time)
        self._logging_in = set()
        self.table = {
            v3.CMD_ACK: self.client_ack,
            v3.CMD_LOGON: self.logon,
            v3.CMD_GET_DEPS: self.get_deps,
            v3.CMD_GET_EXTERNALS: self.get_externals,
            v3.CMD_PING: self.acknowledge,
            v3.CMD_PING2: self.acknowledge,
            v3.CMD_LOGOFF: self.logoff,
            v3.CMD_CONTACT_LIST: self.contact_list,
            v3.CMD_USER_ADD: self.add_contact,
            v3.CMD_VISIBLE_LIST: self.visible_list,
            v3.CMD_INVISIBLE_LIST: self.invisible_list,
            v3.CMD_SET_STATUS: self.set_status,
            v3.CMD_THRU_SERVER: self.send_message,
            v3.CMD_AUTHORIZE: self.send_message,
            v3.CMD_SYSMSG_REQ: self.offline_request,
            # Every delivered message was deleted when the client acknowledged
            # it (v3.md 21 #15): SYSMSG_DONE_ACK is only acknowledged.
            v3.CMD_SYSMSG_DONE_ACK: self.acknowledge,
            v3.CMD_GET_DEPS1: self.get_deps1,
            v3.CMD_FRAGMENT: self.fragment,
            # Session-checked and acknowledged, nothing more.
            v3.CMD_RECONNECT: self.acknowledge,
            v3.CMD_USAGE_STATS: self.acknowledge,
            v3.CMD_SET_STATE: self.acknowledge,
            v3.CMD_BROADCAST_REQ: self.acknowledge,
            v3.CMD_BROADCAST_MSG_ALL: self.broadcast,
            v3.CMD_BROADCAST_MSG_ONLINE: self.broadcast,
        }
        # User info, notes, search and registration (handlers/v3_meta.py).
        self.attach_meta(V3Meta(self, directory, departments, accounts))

    def decode(self, datagram):
        return v3.decode(datagram)


    @staticmethod
    def parse_request(packet):
        return v3.parse_client_body(packet)

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

    # --- commands without a session -------------------------------------------

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
        login = LoginRequest(uin, request.password, addr, 0, request.status, request.status_flags, info, packet.seq2)
        d = self.network.login(self.speaker, login, on_accept=accepted)

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
        d = self.network.verify(request.uin, request.password, addr[0])

        def answer(ok):
            if ok is None:
                self.busy(packet, addr)
                return None
            if not ok:
                self.wrong_password(packet, addr)
                return None
            if self.network.sessions.get(request.uin) is not None:
                self.busy(packet, addr)
                return None
            return self.departments.departments(MAX_DEPARTMENTS).addCallbacks(send_list, unavailable)

        def send_list(departments):
            self.ack(packet, addr)
            data = v3.DepsList(DEPARTMENT_LIST_VERSION, encode_departments(departments, self.charset)).build()
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
        session = self.own_session(packet, addr)
        if session is None:
            return None
        request = v3.Logoff.parse(packet.data)
        if request.disconnects:
            self.reassembler.forget(packet.uin)
            self.network.logoff(session)
        return None

    @staticmethod
    def ends_list(request):
        """
        CONTACT_LIST holds up to 255 UINs per packet, each answered with the
        online ones and LIST_DONE; it never triggers offline delivery (v3.md 10.3).
        """
        return False

    @session_command
    def set_status(self, session, packet, addr, request):
        """SET_STATUS: WORD status, then WORD flags when present, else 0 (v3.md 21 #2)."""
        self.ack(packet, addr)
        flags = 0 if request.flags is None else request.flags
        self.network.set_status(session, request.status, flags)

    @session_command
    def send_message(self, session, packet, addr, request):
        """
        THRU_SERVER and AUTHORIZE: acknowledged once the message is queued for
        the online recipient or stored; not acknowledged (so the client
        resends) while the database is away.  An "authorization granted"
        (type 8) is recorded before the message is routed.
        """
        return relay_message(self, session, packet, addr, request.uin, request.msg_type, request.text,
                             self.config.v3_max_msgsize)

    @session_command
    def offline_request(self, session, packet, addr, request):
        """SYSMSG_REQ: the stored messages, then SYSMSG_DONE with the request's SEQ2."""
        self.ack(packet, addr)
        return self.network.deliver_offline(session, seq2=packet.seq2)

    @session_command
    def get_deps1(self, session, packet, addr, request):
        """GET_DEPS1: DEPS_LIST1 after the ACK; neither while the database is away."""
        d = self.departments.departments(MAX_DEPARTMENTS)

        def send_list(departments):
            if not session.active:
                return
            self.ack(packet, addr)
            packets = self.speaker.deps_list1(session, packet.seq2, encode_departments(departments, self.charset))
            self.network.send_reliable(session, packets)

        failed = unacknowledged(session, packet)

        return d.addCallbacks(send_list, failed)

    @session_command
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
        return self._broadcast(packet, addr)

    @session_command
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
