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

User information, search, registration (v3.md sections 13-15)
==============================================================

Info requests, updates, notes, the password and the authorization flag work
on the L{iserverd.storage.directory.IDirectory} that v5 uses, so both see the
same accounts.  Each is one Deferred chain: the database work, then the ACK,
then the replies, reliable and carrying the request's SEQ2.  While the
database is away nothing is acknowledged, so the client sends the request
again.  A field over its limit is refused with the ACK and no C{*_OK} (the
client's request times out); the session goes on (IServerd disconnected the
user, v3.md section 21 #13).  The header UIN is always the one changed, and
the session check ties it to the sender's address, so nobody changes another
user's account.

The auth byte of INFO_BASIC, INFO_SINGLE and SEARCH_FOUND is in the SET_AUTH
sense: 1 = no authorization needed, 0 = needed (v3.md section 21 #9).
Contact lists, USER_ADD and type 8 messages go through the authorization
check shared with v5 (L{iserverd.core.authorization}).

A search compares one field: text case-insensitively with the mode's true
meaning (IServerd inverted "begins with" and "ends with"), numbers (UIN, age,
countries, department) by equality; at most C{V3 max search} results, and
SEARCH_DONE says whether there were more (v3.md section 14).

Registration needs no login.  REG_REQUEST_INFO gets the form's texts and the
department list in three unreliable fragments; REG_NEW_USER_INFO creates the
account with a random password (C{V3 auto registration}) or queues the form
for the administrator (C{iserverd-admin requests}, C{approve}, C{reject}),
and REGISTRATION_OK tells the user which.  When C{V3 registration enabled} is
off nothing is stored and REGISTRATION_OK carries the refusal (IServerd
registered anyway, v3.md section 21 #18).  One source address registers at
most once a minute, as in v5.

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

import secrets
from dataclasses import dataclass, fields, replace

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from iserverd.codec import v3
from iserverd.codec.errors import MalformedPacket
from iserverd.core import network as net
from iserverd.core.authorization import Authorization
from iserverd.core.interfaces import ISpeaker, Outgoing
from iserverd.core.session import ClientInfo, unacknowledged
from iserverd.handlers.v5_meta import REGISTRATION_INTERVAL, REGISTRATION_MEMORY, SEARCH_PACKETS_MAX
from iserverd.storage.departments import MAX_DEPARTMENTS, PostgresDepartments
from iserverd.storage.directory import PostgresDirectory
from iserverd.storage.interfaces import (
    LIST_INVISIBLE,
    LIST_VISIBLE,
    Account,
    DatabaseUnavailable,
    NoSuchUser,
)

MSG_PLAIN = 0x0001
MSG_CONTACTS = 0x0013
MSG_BROADCAST = 0x0014

# HELLO values that IServerd takes from its global configuration (v3.md 7.3).
DEPARTMENT_LIST_VERSION = 1
EXTERNALS = 0

TEXT_ALREADY_ONLINE = "User %d already connected.\r\nTry again later."

# Longest notes (v3.md 13.4, inferred) and home pages (IServerd, NUL included).
NOTES_LIMIT = 1024
PAGE_LIMIT = 128
# A new password must fit a LOGON (v3.md 7.1).
PASSWORD_LIMIT = v3.Logon.PASSWORD_LIMIT
# REGISTER_INFO notes and REGISTRATION_OK texts, NUL included (v3.md 15).
NOTES_TEXT_LIMIT = 512
REGISTRATION_TEXT_LIMIT = 512
# Hex digits of an automatically registered user's password (IServerd: 6).
NEW_PASSWORD_DIGITS = 8

TEXT_REGISTERED = ("Registration complete.\r\nYour UIN is %U% and your password is %P%.\r\n"
                   "Please change the password once you are logged in.")
TEXT_QUEUED = ("Your registration request (number %d) was sent to the administrator.\r\n"
               "You will get your UIN and password by e-mail.")
TEXT_REGISTRATION_DISABLED = "Registration is disabled on this server.\r\nAsk the administrator (%s) for an account."
TEXT_REGISTRATION_TOO_SOON = ("Only one registration a minute is accepted from your address.\r\n"
                              "Try again later.")
TEXT_REGISTRATION_TOO_LONG = "Registration refused: the %s field is too long."

# Values clients send for "none" in ZIP and department DWORDs.
_NONE_NUMBERS = (0, 0xFFFF, 0xFFFFFFFF)


def _fit(value, limit):
    """C{value} if it fits 0..C{limit}, else 0 (a field the reply cannot carry is shown empty)."""
    return value if isinstance(value, int) and 0 <= value <= limit else 0


def _number_text(value):
    """A ZIP or department DWORD as stored text; 0, 0xFFFF and 0xFFFFFFFF mean none."""
    return "" if value in _NONE_NUMBERS else str(value)


def _text_number(text):
    """Stored ZIP or department text as a DWORD; anything else is 0 (shown empty)."""
    text = text.strip()
    if text.isascii() and text.isdigit() and int(text) <= 0xFFFFFFFF:
        return int(text)
    return 0


def _year_in(value):
    """
    A birth-year WORD as a full year: IServerd sends year - 1900, the spec's
    dump two digits (79); both are below 200.  A full year is kept.
    """
    if 1 <= value < 200:
        return 1900 + value
    if 1000 <= value <= 9999:
        return value
    return 0


def _year_out(year):
    """A stored year as INFO_HOME's WORD, year - 1900 (IServerd)."""
    return _fit(year - 1900, 0xFFFF) if year else 0


def _age_in(value):
    return value if value <= 150 else 0


def _auth_byte(auth_required):
    """The auth byte of info and search replies, in the SET_AUTH sense (v3.md 21 #9)."""
    return 0 if auth_required else 1


def new_password():
    """A random password for an automatically registered user: upper-case hex digits."""
    return secrets.token_hex(NEW_PASSWORD_DIGITS // 2).upper().encode("ascii")


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


def _directory_command(method):
    """
    A session command answered from the directory: C{method(self, session,
    request)} returns (or fires with) the replies as C{(server command,
    data)} pairs.  They go out reliably with the request's SEQ2 after the
    ACK; a refused request has none and is only acknowledged.  While the
    database is away nothing is acknowledged, so the client resends.
    """

    def handle(self, session, packet, addr, request):
        d = defer.maybeDeferred(method, self, session, request)

        def answer(replies):
            self.ack(packet, addr)
            packets = []
            for command, data in replies:
                packets += self.speaker.reliable(command, data, packet.seq2)
            if packets:
                self.network.send_reliable(session, packets)

        unavailable = unacknowledged(session, packet)

        return d.addCallback(answer).addErrback(unavailable)

    handle.__name__ = method.__name__
    handle.__doc__ = method.__doc__
    return _session_command(handle)


class V3Handler:
    """
    @ivar table: command code to handler method (the transport's dispatch table).
    @ivar reassembler: the L{v3.Reassembler} of client fragments.
    @ivar departments: the L{iserverd.storage.departments.IDepartmentStore}.
    @ivar directory: the L{iserverd.storage.directory.IDirectory}.
    @ivar authorization: the L{Authorization} check shared with v5.
    """

    log = Logger()
    version = v3.VERSION

    def __init__(self, network, send, config, clock=None, departments=None, directory=None):
        self.network = network
        self.send = send
        self.config = config
        self.clock = network.clock if clock is None else clock
        self.speaker = V3Speaker(config)
        self.departments = PostgresDepartments(network.storage) if departments is None else departments
        self.directory = PostgresDirectory(network.storage) if directory is None else directory
        self.authorization = Authorization(network, self.directory)
        self.charset = config.client_charset
        self._registered = {}  # (host, port, seq1, seq2) -> (clock time, answer text or None)
        self._last_registration = {}  # host -> clock time
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
            v3.CMD_GET_INFO: self.get_info,
            v3.CMD_GET_INFO1: self.get_info1,
            v3.CMD_GET_NOTES: self.get_notes,
            v3.CMD_SET_NOTES: self.set_notes,
            v3.CMD_SET_BASIC_INFO: self.set_basic_info,
            v3.CMD_SET_HOME_INFO: self.set_home_info,
            v3.CMD_SET_HOME_PAGE: self.set_home_page,
            v3.CMD_SET_WORK_INFO: self.set_work_info,
            v3.CMD_SET_WORK_PAGE: self.set_work_page,
            v3.CMD_SET_AUTH: self.set_auth,
            v3.CMD_SET_PASSWORD: self.set_password,
            v3.CMD_SEARCH_START: self.search,
            v3.CMD_REG_REQUEST_INFO: self.registration_info,
            v3.CMD_REG_NEW_USER_INFO: self.register,
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
        return self.authorization.contacts(
            self, session, packet, addr, request.uins,
            lambda uins: self.network.contact_list(session, uins, final=False),
        )

    @_session_command
    def user_add(self, session, packet, addr, request):
        """USER_ADD: one contact, checked for authorization like a list."""
        return self.authorization.add_contact(self, session, packet, addr, request.uin)

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
        resends) while the database is away.  An "authorization granted"
        (type 8) is recorded before the message is routed.
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
        d = self.authorization.send_message(session, request.uin, request.msg_type, request.text)
        return d.addCallbacks(lambda _: self.ack(packet, addr), unacknowledged(session, packet))

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

        failed = unacknowledged(session, packet)

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

    # --- text -------------------------------------------------------------------

    def text(self, value):
        """Client bytes to stored Unicode, up to the first NUL (PostgreSQL text holds none)."""
        return value.split(b"\x00", 1)[0].decode(self.charset, "replace")

    def wire(self, value):
        """Stored Unicode to client bytes."""
        return value.encode(self.charset, "replace")

    # --- user information (v3.md section 13) ------------------------------------

    def _basic(self, info):
        """INFO_BASIC / INFO_SINGLE; the e-mail is the public one (e-mail 2, v3.md 13.1)."""
        return v3.InfoBasic(self.wire(info.nick), self.wire(info.first_name), self.wire(info.last_name),
                            self.wire(info.email2), _auth_byte(info.auth_required))

    def _home(self, info):
        return v3.HomeInfo(
            street=self.wire(info.home_address), city=self.wire(info.home_city),
            state=self.wire(info.home_state), country=_fit(info.home_country, 0xFFFF),
            phone=self.wire(info.home_phone), fax=self.wire(info.home_fax),
            cellular=self.wire(info.home_cell), zip=_text_number(info.home_zip),
            gender=_fit(info.gender, 0xFF), age=_fit(info.age, 0xFFFF),
            birth_day=_fit(info.birth_day, 0xFF), birth_month=_fit(info.birth_month, 0xFF),
            birth_year=_year_out(info.birth_year),
        )

    def _work(self, info):
        return v3.WorkInfo(
            street=self.wire(info.work_address), city=self.wire(info.work_city),
            state=self.wire(info.work_state), country=_fit(info.work_country, 0xFFFF),
            company=self.wire(info.work_company), title=self.wire(info.work_title),
            department=_text_number(info.work_department_code), phone=self.wire(info.work_phone),
            fax=self.wire(info.work_fax), pager=self.wire(info.work_pager),
            zip=_text_number(info.work_zip),
        )

    @staticmethod
    def _invalid(uin):
        return [(v3.SRV_INVALID_UIN, v3.UinBody(uin).build())]

    @_directory_command
    @defer.inlineCallbacks
    def get_info(self, session, request):
        """GET_INFO: INFO_BASIC, INFO_HOME, INFO_HOME_PAGE, INFO_WORK, INFO_WORK_PAGE, or INVALID_UIN."""
        info = yield self.directory.get_info(request.uin)
        if info is None:
            return self._invalid(request.uin)
        return [
            (v3.SRV_INFO_BASIC, self._basic(info).build()),
            (v3.SRV_INFO_HOME, self._home(info).build()),
            (v3.SRV_INFO_HOME_PAGE, v3.Text(self.wire(info.homepage)).build()),
            (v3.SRV_INFO_WORK, self._work(info).build()),
            (v3.SRV_INFO_WORK_PAGE, v3.Text(self.wire(info.work_homepage)).build()),
        ]

    @_directory_command
    @defer.inlineCallbacks
    def get_info1(self, session, request):
        """GET_INFO1: INFO_SINGLE (the INFO_BASIC layout), or INVALID_UIN."""
        info = yield self.directory.get_info(request.uin)
        if info is None:
            return self._invalid(request.uin)
        return [(v3.SRV_INFO_SINGLE, self._basic(info).build())]

    @_directory_command
    @defer.inlineCallbacks
    def get_notes(self, session, request):
        """
        GET_NOTES: NOTES with the notes, the last login time and address, or
        INVALID_UIN.  The address is 0.0.0.0 for users who hide it; when the
        notes changed is not kept, so that time is 0.
        """
        info = yield self.directory.get_info(request.uin)
        if info is None:
            return self._invalid(request.uin)
        account = yield self.network.storage.get_account(request.uin)
        last_login, ip = 0, "0.0.0.0"
        if account is not None:
            if account.last_login_at is not None:
                last_login = _fit(int(account.last_login_at.timestamp()), 0xFFFFFFFF)
            shown = request.uin == session.uin or not info.hide_ip
            if shown and account.last_login_ip and "." in account.last_login_ip:
                ip = account.last_login_ip
        return [(v3.SRV_NOTES, v3.Notes(self.wire(info.notes), 0, last_login, ip).build())]

    def _refused(self, session, what, reason):
        self.log.info("uin {uin}: {what} refused: {reason}", uin=session.uin, what=what, reason=reason)
        return []

    def _oversized(self, session, what, request):
        names = request.oversized()
        if names:
            return self._refused(session, what, "over-long " + ", ".join(names))
        return None

    @defer.inlineCallbacks
    def _update(self, session, what, values, ok):
        """Store info columns of the sender's own account; C{ok} is the reply."""
        found = yield self.directory.update_info(session.uin, values)
        if not found:
            return self._refused(session, what, "no such account")
        if session.account is not None:
            # Presence and "you were added" read the account kept with the session.
            known = {f.name for f in fields(Account)}
            session.account = replace(session.account, **{k: v for k, v in values.items() if k in known})
        return [(ok, b"")]

    @_directory_command
    def set_basic_info(self, session, request):
        """SET_BASIC_INFO: nick, names and the e-mail, stored as e-mail 1 and 2; SET_BASIC_INFO_OK."""
        refused = self._oversized(session, "basic info", request)
        if refused is not None:
            return refused
        email = self.text(request.email)
        values = dict(nick=self.text(request.nick), first_name=self.text(request.first),
                      last_name=self.text(request.last), email=email, email2=email)
        return self._update(session, "basic info", values, v3.SRV_SET_BASIC_INFO_OK)

    @_directory_command
    def set_home_info(self, session, request):
        """SET_HOME_INFO: address, phones, ZIP, gender, age and birthday; SET_HOME_INFO_OK."""
        refused = self._oversized(session, "home info", request)
        if refused is not None:
            return refused
        t = self.text
        values = dict(
            home_address=t(request.street), home_city=t(request.city), home_state=t(request.state),
            home_country=request.country, home_phone=t(request.phone), home_fax=t(request.fax),
            home_cell=t(request.cellular), home_zip=_number_text(request.zip), gender=request.gender,
            age=_age_in(request.age), birth_day=request.birth_day, birth_month=request.birth_month,
            birth_year=_year_in(request.birth_year),
        )
        return self._update(session, "home info", values, v3.SRV_SET_HOME_INFO_OK)

    @_directory_command
    def set_work_info(self, session, request):
        """SET_WORK_INFO (with or without the spec's fourth string): SET_WORK_INFO_OK."""
        refused = self._oversized(session, "work info", request)
        if refused is not None:
            return refused
        t = self.text
        values = dict(
            work_address=t(request.street), work_city=t(request.city), work_state=t(request.state),
            work_country=request.country, work_company=t(request.company), work_title=t(request.title),
            work_department_code=_number_text(request.department), work_phone=t(request.phone),
            work_fax=t(request.fax), work_pager=t(request.pager), work_zip=_number_text(request.zip),
        )
        return self._update(session, "work info", values, v3.SRV_SET_WORK_INFO_OK)

    def _set_text(self, session, request, what, column, limit, ok):
        if len(request.text) + 1 > limit:
            return self._refused(session, what, "%d bytes" % (len(request.text),))
        return self._update(session, what, {column: self.text(request.text)}, ok)

    @_directory_command
    def set_home_page(self, session, request):
        """SET_HOME_PAGE: SET_HOME_PAGE_OK."""
        return self._set_text(session, request, "home page", "homepage", PAGE_LIMIT, v3.SRV_SET_HOME_PAGE_OK)

    @_directory_command
    def set_work_page(self, session, request):
        """SET_WORK_PAGE: SET_WORK_PAGE_OK."""
        return self._set_text(session, request, "work page", "work_homepage", PAGE_LIMIT,
                              v3.SRV_SET_WORK_PAGE_OK)

    @_directory_command
    def set_notes(self, session, request):
        """SET_NOTES: up to 1024 bytes (longer ones are refused); SET_NOTES_OK."""
        return self._set_text(session, request, "notes", "notes", NOTES_LIMIT + 1, v3.SRV_SET_NOTES_OK)

    @_directory_command
    def set_auth(self, session, request):
        """SET_AUTH: the last data byte, 0 = authorization required (v3.md 21 #9); SET_AUTH_OK."""
        return self._update(session, "authorization flag", {"auth_required": request.auth_required},
                            v3.SRV_SET_AUTH_OK)

    @_directory_command
    @defer.inlineCallbacks
    def set_password(self, session, request):
        """
        SET_PASSWORD (LNTS at offset 0 or 4, v3.md 21 #10): stored as a
        salted hash, "must change password" cleared, then SET_PASSWORD_OK.
        A password a LOGON could not carry (empty, over 20 bytes) is refused.
        """
        password = request.password
        if not 1 <= len(password) <= PASSWORD_LIMIT or b"\x00" in password:
            return self._refused(session, "password change", "a password of %d bytes" % (len(password),))
        try:
            yield self.network.storage.set_password(session.uin, password)
        except NoSuchUser:
            return self._refused(session, "password change", "no such account")
        self.log.info("uin {uin} changed its password", uin=session.uin)
        return [(v3.SRV_SET_PASSWORD_OK, b"")]

    # --- search (v3.md section 14) ----------------------------------------------

    @property
    def max_results(self):
        return min(self.config.v3_max_search, SEARCH_PACKETS_MAX)

    def _search_criterion(self, request):
        """The directory's field, mode and value for a SEARCH_START (None parts find nothing)."""
        field = v3.SEARCH_FIELDS.get(request.field)
        mode = v3.SEARCH_MODES.get(request.mode)
        if field == "department":
            # A WORD compared with the stored department code.
            return field, "is", _number_text(request.number or 0)
        if request.field in v3.SEARCH_NUMERIC_FIELDS:
            return field, mode, request.number
        if field in ("uin", "age"):
            text = self.text(request.text).strip()
            return field, mode, int(text) if text.isascii() and text.isdigit() else None
        return field, mode, self.text(request.text)

    @_directory_command
    @defer.inlineCallbacks
    def search(self, session, request):
        """
        SEARCH_START: one SEARCH_FOUND per result (by UIN), then SEARCH_DONE
        with "more" set when results were cut.  An unknown field or mode, or
        an empty text, finds nothing.
        """
        field, mode, value = self._search_criterion(request)
        results, more = yield self.directory.search_field(field, mode, value, self.max_results)
        w = self.wire
        replies = [
            (v3.SRV_SEARCH_FOUND, v3.SearchFound(r.uin, w(r.nick), w(r.first_name), w(r.last_name),
                                                 w(r.email), _auth_byte(r.auth_required)).build())
            for r in sorted(results, key=lambda r: r.uin)
        ]
        return replies + [(v3.SRV_SEARCH_DONE, v3.SearchDone(int(more)).build())]

    # --- registration (v3.md section 15) ----------------------------------------

    def registration_info(self, packet, addr):
        """
        REG_REQUEST_INFO, before any login: the ACK, then REGISTER_INFO in
        three unreliable fragments with the administrator's notes, whether
        registration is enabled, and the department list.
        """
        d = self.departments.departments(MAX_DEPARTMENTS)

        def send(departments):
            self.ack(packet, addr)
            notes = self.wire(self.config.v3_registration_notes.replace("\\n", "\r\n"))
            info = v3.RegisterInfo(
                notes[: NOTES_TEXT_LIMIT - 1], int(bool(self.config.v3_registration)),
                DEPARTMENT_LIST_VERSION, self._encode_departments(departments),
            )
            for datagram in v3.split_register_info(info, packet.seq2, packet.uin):
                self.send(datagram, addr)

        def unavailable(failure):
            failure.trap(DatabaseUnavailable)
            self.log.warn("registration form for {host} not sent, database unavailable", host=addr[0])

        return d.addCallbacks(send, unavailable)

    def _form(self, request):
        """The account details of a registration form, as users columns."""
        t = self.text
        return dict(
            nick=t(request.nick), first_name=t(request.first), last_name=t(request.last),
            email3=t(request.email), gender=request.gender,
            home_address=t(request.home_street), home_city=t(request.home_city),
            home_state=t(request.home_state), home_country=request.home_country,
            home_phone=t(request.home_phone), home_fax=t(request.home_fax),
            home_cell=t(request.home_cellular), home_zip=_number_text(request.home_zip),
            age=_age_in(request.age), birth_day=request.birth_day, birth_month=request.birth_month,
            birth_year=_year_in(request.birth_year), homepage=t(request.home_page),
            work_address=t(request.work_street), work_city=t(request.work_city),
            work_state=t(request.work_state), work_country=request.work_country,
            work_company=t(request.company), work_title=t(request.title),
            work_department_code=_number_text(request.department), work_phone=t(request.work_phone),
            work_fax=t(request.work_fax), work_pager=t(request.work_pager),
            work_zip=_number_text(request.work_zip), work_homepage=t(request.work_page),
        )

    def register(self, packet, addr):
        """
        REG_NEW_USER_INFO, before any login: the ACK once the account or the
        request is stored, then REGISTRATION_OK with the text to show: the
        new UIN and password (automatic), the request's number (manual) or
        why nothing was stored (registration disabled, a field over its
        limit, another registration from this address less than a minute
        ago).  A resend of a request already answered gets the same answer.
        """
        request = v3.RegNewUserInfo.parse(packet.data)
        now = self.network.now()
        host = addr[0]
        self._forget_registrations(now)
        key = (host, addr[1], packet.seq1, packet.seq2)
        if key in self._registered:
            _, text = self._registered[key]
            if text is not None:  # else the answer is on its way
                self._answer_registration(packet, addr, text)
            return None
        refusal = None
        oversized = request.oversized()
        if not self.config.v3_registration:
            refusal, text = "registration is disabled", TEXT_REGISTRATION_DISABLED % (self.config.admin_email,)
        elif oversized:
            refusal, text = "over-long " + ", ".join(oversized), TEXT_REGISTRATION_TOO_LONG % (oversized[0],)
        elif now - self._last_registration.get(host, now - REGISTRATION_INTERVAL) < REGISTRATION_INTERVAL:
            refusal = "another registration from this address less than %d s ago" % (REGISTRATION_INTERVAL,)
            text = TEXT_REGISTRATION_TOO_SOON
        if refusal is not None:
            self.log.info("v3 registration from {host} refused: {reason}", host=host, reason=refusal)
            self._registered[key] = (now, text)
            return self._answer_registration(packet, addr, text)
        # Taken now, so a resend or another request that arrives while the
        # database works is not registered twice.
        self._registered[key] = (now, None)
        self._last_registration[host] = now
        info = self._form(request)
        email = info["email3"]
        auto = self.config.v3_auto_registration
        password = new_password() if auto else None
        if auto:
            d = self.directory.register(password, email, info)
        else:
            # The form has no password: the administrator's approval sets one.
            d = self.directory.queue_registration(None, email, host, info)

        def done(number):
            if auto:
                self.log.info("uin {uin} registered from {host} (v3)", uin=number, host=host)
                text = self._registered_text(number, password)
            else:
                self.log.info("v3 registration from {host} queued for the administrator (request {id})",
                              host=host, id=number)
                text = TEXT_QUEUED % (number,)
            self._registered[key] = (self.network.now(), text)
            self._answer_registration(packet, addr, text)

        def unavailable(failure):
            failure.trap(DatabaseUnavailable)
            self._registered.pop(key, None)
            self._last_registration.pop(host, None)
            self.log.warn("v3 registration from {host} not answered, database unavailable", host=host)

        return d.addCallbacks(done, unavailable)

    def _registered_text(self, uin, password):
        """TEXT_REGISTERED, then the post-registration text; %U% the UIN, %P% the password."""
        text = TEXT_REGISTERED
        if self.config.post_register_text:
            text += "\r\n" + self.config.post_register_text.replace("\\n", "\r\n")
        return text.replace("%U%", str(uin)).replace("%P%", password.decode("ascii"))

    def _answer_registration(self, packet, addr, text):
        """The ACK, then REGISTRATION_OK: SEQ1 and SEQ2 the request's, unreliable (v3.md 15)."""
        self.ack(packet, addr)
        data = v3.Text(self.wire(text)[: REGISTRATION_TEXT_LIMIT - 1]).build()
        self.send(v3.encode(v3.reply_to(packet, v3.SRV_REGISTRATION_OK, data, seq1=packet.seq1)), addr)

    def _forget_registrations(self, now):
        for table, when in ((self._registered, lambda v: v[0]), (self._last_registration, lambda v: v)):
            stale = [k for k, v in table.items() if now - when(v) >= REGISTRATION_INTERVAL]
            for k in stale:
                del table[k]
            while len(table) > REGISTRATION_MEMORY:
                del table[next(iter(table))]

