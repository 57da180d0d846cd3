"""
ICQ v5 packet handlers and the v5 speaker.

L{V5Handler} is what the transport calls for a datagram whose first WORD is 5:
it decrypts the packet, checks the sender's session where the command needs
one, acknowledges it and hands the meaning to the shared
L{iserverd.core.network.Network}.  L{V5Speaker} builds the server packets the
network asks for, in v5 form.

Acknowledgement order follows the protocol (v5.md section 6.1), with one
change: a message is acknowledged only after it is in the recipient's resend
queue or committed to the database, so an acknowledged message is never lost.
"""

import random

from twisted.logger import Logger
from zope.interface import implementer

from iserverd.codec import v5
from iserverd.core import network as net
from iserverd.core.interfaces import ISpeaker, Outgoing
from iserverd.core.session import ClientInfo, unacknowledged
from iserverd.handlers.v5_meta import V5Meta
from iserverd.storage.interfaces import LIST_INVISIBLE, LIST_VISIBLE

# v3 broadcasts reach v5 users as system messages (v5.md section 14).
MSG_V3_BROADCAST = 0x0014
MSG_SYSTEM = 0x0009
HIDE_IP_FLAG = 0x0002
# licq sends contact lists in packets of 100; a full packet means more follow.
LIST_PACKET_SIZE = 100


def split(text, size):
    """Cut a text into pieces of at most C{size} bytes (at least one piece)."""
    if len(text) <= size:
        return [text]
    return [text[i : i + size] for i in range(0, len(text), size)]


@implementer(ISpeaker)
class V5Speaker:
    """
    Builds v5 server packets.  The server checkcode's random choices come from
    C{rng}, so tests can make them repeatable.
    """

    version = v5.VERSION

    def __init__(self, config, rng=None):
        self.config = config
        self.rng = rng or random.Random()
        self.timeout = config.v5_max_timeout
        self.retries = config.v5_max_retries
        self.ping_time = config.v5_ping_time
        self.max_text = config.v5_max_msgsize

    def encode(self, session, seq1, outgoing):
        packet = v5.ServerPacket(
            session.session_id, outgoing.command, seq1, outgoing.seq2, session.uin, outgoing.data
        )
        return v5.encode_server(packet, self.rng.randrange(16), self.rng.randrange(255))

    def hello(self, session, seq2):
        data = v5.hello(self.ping_time, self.timeout, self.retries, session.addr[0])
        return [Outgoing(v5.SRV_HELLO, data, seq2)]

    def user_online(self, session, other):
        info = other.info
        hidden = other.version != v5.VERSION or other.flags & HIDE_IP_FLAG or (
            other.account is not None and other.account.hide_ip
        )
        data = v5.user_online(
            other.uin,
            "0.0.0.0" if hidden else other.addr[0],
            0 if hidden else info.tcp_port,
            "0.0.0.0" if hidden else info.internal_ip,
            0 if hidden else info.dc_type,
            other.status,
            other.flags,
            info.tcp_version,
            info.web_port,
            info.client_features,
        )
        return [Outgoing(v5.SRV_USER_ONLINE, data)]

    def user_offline(self, session, uin):
        return [Outgoing(v5.SRV_USER_OFFLINE, v5.user_offline(uin))]

    def user_status(self, session, other):
        return [Outgoing(v5.SRV_USER_STATUS, v5.user_status(other.uin, other.status, other.flags))]

    def _type(self, msg_type):
        return MSG_SYSTEM if msg_type == MSG_V3_BROADCAST else msg_type

    def message(self, session, from_uin, msg_type, text):
        msg_type = self._type(msg_type)
        return [
            Outgoing(v5.SRV_ONLINE_MESSAGE, v5.online_message(from_uin, msg_type, piece))
            for piece in split(text, self.max_text)
        ]

    def offline_message(self, session, message):
        msg_type = self._type(message.msg_type)
        return [
            Outgoing(v5.SRV_OFFLINE_MESSAGE, v5.offline_message(message.from_uin, message.sent_at, msg_type, piece))
            for piece in split(message.body, self.max_text)
        ]

    def end_offline(self, session, seq2):
        return [Outgoing(v5.SRV_END_OFFLINE_MESSAGES, b"", seq2)]

    def list_done(self, session):
        return [Outgoing(v5.SRV_CONTACT_LIST_DONE, v5.contact_list_done(session.uin))]


def _needs_session(method):
    """
    Run C{method(self, session, packet, addr)} only for a packet from the
    sender's own login (address, port and session id all match); a repeat of a
    recently handled packet is acknowledged again and not acted on twice.
    """

    def handle(self, packet, addr):
        session = self.session_for(packet, addr)
        if session is None:
            return None
        if session.is_repeat(packet.seq1, packet.command):
            self.ack(packet, addr)
            return None
        return method(self, session, packet, addr)

    handle.__name__ = method.__name__
    handle.__doc__ = method.__doc__
    return handle


class V5Handler:
    """
    @ivar table: command code to handler method (the transport's dispatch table).
    """

    log = Logger()
    version = v5.VERSION

    def __init__(self, network, send, config, rng=None):
        self.network = network
        self.send = send
        self.config = config
        self.speaker = V5Speaker(config, rng)
        self.rng = self.speaker.rng
        self.table = {
            v5.CMD_ACK: self.client_ack,
            v5.CMD_LOGIN: self.login,
            v5.CMD_GET_DEPS: self.get_deps,
            v5.CMD_FIRST_LOGIN: self.first_login,
            v5.CMD_KEEP_ALIVE: self.keep_alive,
            v5.CMD_KEEP_ALIVE2: self.keep_alive,
            v5.CMD_LOGOFF: self.logoff,
            v5.CMD_CONTACT_LIST: self.contact_list,
            v5.CMD_VIS_LIST: self.visible_list,
            v5.CMD_INVIS_LIST: self.invisible_list,
            v5.CMD_ADD_TO_LIST: self.add_to_list,
            v5.CMD_UPDATE_LIST: self.update_list,
            v5.CMD_STATUS_CHANGE: self.status_change,
            v5.CMD_SEND_MESSAGE: self.send_message,
            v5.CMD_MSG_TO_NEW_USER: self.send_message,
            v5.CMD_ACK_MESSAGES: self.ack_messages,
            v5.CMD_SYSMSG_REQ: self.offline_request,
        }
        # User info, search, registration and account changes (handlers/v5_meta.py).
        self.meta = V5Meta(self)
        self.table.update(self.meta.table)
        self.table.update(dict.fromkeys(self.meta.session_commands, self.directory_command))

    def decode(self, datagram):
        return v5.decode_client(datagram)

    # --- replies that need no acknowledgement ---------------------------------

    def _reply(self, packet, addr, command, data=b"", seq1=0):
        self.send(
            v5.encode_server(
                v5.ServerPacket(packet.session_id, command, seq1, packet.seq2, packet.uin, data),
                self.rng.randrange(16), self.rng.randrange(255),
            ),
            addr,
        )

    def ack(self, packet, addr, data=b""):
        self._reply(packet, addr, v5.SRV_ACK, data, seq1=packet.seq1)

    def not_connected(self, packet, addr):
        self._reply(packet, addr, v5.SRV_NOT_CONNECTED)

    def busy(self, packet, addr):
        self._reply(packet, addr, v5.SRV_BUSY)

    def login_err(self, packet, addr, text):
        data = v5.login_err(text.encode(self.config.client_charset, "replace"))
        self._reply(packet, addr, v5.SRV_LOGIN_ERR, data)

    def session_for(self, packet, addr):
        """
        The sender's session, if the packet comes from it; else NOT_CONNECTED
        is sent and L{None} returned.  Any authenticated packet counts as a
        keep-alive.
        """
        session = self.network.sessions.get(packet.uin)
        if session is None or session.version != self.version or not session.matches(addr, packet.session_id):
            if session is not None:
                self.log.info(
                    "v5 0x{command:04x} for uin {uin} from {host}:{port} does not match its session; refused",
                    command=packet.command, uin=packet.uin, host=addr[0], port=addr[1],
                )
            self.not_connected(packet, addr)
            return None
        self.network.keep_alive(session)
        return session

    # --- commands without a session -------------------------------------------

    def client_ack(self, packet, addr):
        """A client acknowledges one of our reliable packets."""
        session = self.network.sessions.get(packet.uin)
        if session is not None and session.version == self.version and session.matches(addr, packet.session_id):
            self.network.ack(session, packet.seq1)

    def login(self, packet, addr):
        """LOGIN: acknowledge, check, then HELLO or the matching refusal."""
        request = v5.LoginRequest.parse(packet.data)
        self.ack(packet, addr)
        info = ClientInfo(
            tcp_port=request.tcp_port, internal_ip=request.internal_ip, dc_type=request.dc_type,
            tcp_version=request.tcp_version, web_port=request.web_port,
            client_features=request.client_features,
        )
        d = self.network.login(
            self.speaker, packet.uin, request.password, addr, packet.session_id,
            request.status, request.estatus, info, packet.seq2,
        )

        def answer(result):
            outcome, detail = result
            if outcome == net.LOGIN_BAD_PASSWORD:
                self.send(v5.bad_password(packet.seq2, packet.uin), addr)
            elif outcome in (net.LOGIN_BUSY, net.LOGIN_TRY_AGAIN):
                self.busy(packet, addr)
            elif outcome in (net.LOGIN_LOCKED, net.LOGIN_TABLE_FULL, net.LOGIN_DISABLED):
                self.login_err(packet, addr, detail)

        return d.addCallback(answer)

    def get_deps(self, packet, addr):
        """GET_DEPS, the Groupware pseudo-login: an empty department list."""
        request = v5.GetDeps.parse(packet.data)
        d = self.network.verify(request.uin or packet.uin, request.password, addr[0])

        def answer(ok):
            uin = request.uin or packet.uin
            if ok is None:
                self.busy(packet, addr)
            elif not ok:
                self.send(v5.bad_password(packet.seq2, uin), addr)
            elif self.network.sessions.get(uin) is not None:
                self.busy(packet, addr)
            else:
                self.ack(packet, addr)
                self.send(v5.deps_list(packet.seq2, uin), addr)

        return d.addCallback(answer)

    def first_login(self, packet, addr):
        """FIRST_LOGIN: the ACK variant that echoes the client's value."""
        request = v5.FirstLogin.parse(packet.data)
        self.ack(packet, addr, v5.first_login_reply(request.value))

    def unknown(self, packet, addr):
        """Commands without a handler are acknowledged and logged."""
        session = self.session_for(packet, addr)
        if session is not None:
            self.ack(packet, addr)
            self.log.debug("v5 command 0x{command:04x} from uin {uin} acknowledged only",
                           command=packet.command, uin=packet.uin)

    # --- session commands -----------------------------------------------------

    def logoff(self, packet, addr):
        """LOGOFF: no reply; a stray one from a client that is not online is ignored."""
        request = v5.Logoff.parse(packet.data)
        session = self.network.sessions.get(packet.uin)
        if session is None or session.version != self.version or not session.matches(addr, packet.session_id):
            return
        if request.ok:
            self.network.logoff(session)

    @_needs_session
    def keep_alive(self, session, packet, addr):
        """KEEP_ALIVE / KEEP_ALIVE2 (the session check already renewed the lifetime)."""
        self.ack(packet, addr)

    @_needs_session
    def contact_list(self, session, packet, addr):
        """CONTACT_LIST: one packet of up to 100 UINs; a short packet ends the list."""
        request = v5.UinList.parse(packet.data)
        final = len(request.uins) < LIST_PACKET_SIZE
        return self.meta.authorization.contacts(
            self, session, packet, addr, request.uins,
            lambda uins: self.network.contact_list(session, uins, final=final),
        )

    @_needs_session
    def visible_list(self, session, packet, addr):
        request = v5.UinList.parse(packet.data)
        self.ack(packet, addr)
        self.network.change_list(session, LIST_VISIBLE, add=request.uins)

    @_needs_session
    def invisible_list(self, session, packet, addr):
        request = v5.UinList.parse(packet.data)
        self.ack(packet, addr)
        self.network.change_list(session, LIST_INVISIBLE, add=request.uins)

    @_needs_session
    def add_to_list(self, session, packet, addr):
        request = v5.AddToList.parse(packet.data)
        return self.meta.authorization.add_contact(self, session, packet, addr, request.uin)

    @_needs_session
    def update_list(self, session, packet, addr):
        """
        UPDATE_LIST: list type 1 = invisible, 2 = visible (IServerd and micq;
        licq's v5 build numbers them differently, v5.md section 20 #4), 0 =
        contact list (micq).
        """
        request = v5.UpdateList.parse(packet.data)
        add = request.action == v5.LIST_ACTION_ADD
        if request.list_type == v5.LIST_CONTACT and add:
            return self.meta.authorization.add_contact(self, session, packet, addr, request.uin)
        self.ack(packet, addr)
        if request.list_type == v5.LIST_CONTACT:
            return
        kind = {v5.LIST_INVISIBLE: LIST_INVISIBLE, v5.LIST_VISIBLE: LIST_VISIBLE}.get(request.list_type)
        if kind is None:
            self.log.info("uin {uin}: unknown list type {kind} in UPDATE_LIST", uin=session.uin, kind=request.list_type)
            return
        if add:
            self.network.change_list(session, kind, add=[request.uin])
        else:
            self.network.change_list(session, kind, remove=[request.uin])

    @_needs_session
    def status_change(self, session, packet, addr):
        """STATUS_CHANGE: WORD status and WORD flags, both relayed (v5.md section 20 #21)."""
        request = v5.StatusChange.parse(packet.data)
        self.ack(packet, addr)
        self.network.set_status(session, request.status, request.flags)

    @_needs_session
    def send_message(self, session, packet, addr):
        """
        A message through the server: acknowledged once it is queued for the
        online recipient or stored; not acknowledged (so the client resends)
        while the database is away.
        """
        request = v5.SendMessage.parse(packet.data)
        if len(request.text) > self.config.v5_max_msgsize:
            # Refuse the message, keep the session (IServerd disconnected the sender).
            self.ack(packet, addr)
            self.log.info("uin {uin}: message of {size} bytes to {to} refused (limit {limit})",
                          uin=session.uin, size=len(request.text), to=request.recipient,
                          limit=self.config.v5_max_msgsize)
            notice = ("Your message to %d was not delivered: it is longer than %d bytes."
                      % (request.recipient, self.config.v5_max_msgsize))
            self.network.send_reliable(
                session, self.speaker.message(session, net.SYSTEM_UIN, 0x0001, notice.encode("ascii"))
            )
            return None
        d = self.meta.authorization.send_message(session, request.recipient, request.msg_type, request.text)
        return d.addCallbacks(lambda _: self.ack(packet, addr), unacknowledged(session, packet))

    @_needs_session
    def directory_command(self, session, packet, addr):
        """META_USER and the old info and search commands (handlers/v5_meta.py)."""
        return self.meta.handle(session, packet, addr)

    @_needs_session
    def ack_messages(self, session, packet, addr):
        """ACK_MESSAGES: delivered messages were already deleted one by one as acknowledged."""
        self.ack(packet, addr)

    @_needs_session
    def offline_request(self, session, packet, addr):
        """0x044C: acknowledged (IServerd ignored it) and used to trigger offline delivery."""
        self.ack(packet, addr)
        if session.offline_delivery == "due":
            return self.network.deliver_offline(session)
        return None
