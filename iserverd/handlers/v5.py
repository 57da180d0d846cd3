# -*- test-case-name: tests.test_v5_loopback,tests.test_v5_meta,tests.test_interop -*-
"""
ICQ v5 packet handlers.

L{V5Handler} is what the transport calls for a datagram whose first WORD is 5:
it decrypts the packet, checks the sender's session where the command needs
one, acknowledges it and hands the meaning to the shared
L{iserverd.core.network.Network}.  L{iserverd.speakers.v5.V5Speaker} builds
the server packets the network asks for, in v5 form.  User information,
search, registration and account changes are served by
L{iserverd.handlers.v5_meta.V5Meta}.

Acknowledgement order follows the protocol (v5.md section 6.1), with one
change: a message is acknowledged only after it is in the recipient's resend
queue or committed to the database, so an acknowledged message is never lost.
"""

from twisted.logger import Logger

from iserverd.codec import v5
from iserverd.core import network as net
from iserverd.core.guards import SharedCommands, relay_message, session_command
from iserverd.core.session import ClientInfo, LoginRequest
from iserverd.handlers.v5_meta import V5Meta
from iserverd.storage.interfaces import LIST_INVISIBLE, LIST_VISIBLE

# licq sends contact lists in packets of 100; a full packet means more follow.
LIST_PACKET_SIZE = 100


# The parameters of the session commands this module parses itself.
REQUESTS = {
    v5.CMD_CONTACT_LIST: v5.UinList,
    v5.CMD_VIS_LIST: v5.UinList,
    v5.CMD_INVIS_LIST: v5.UinList,
    v5.CMD_ADD_TO_LIST: v5.AddToList,
    v5.CMD_UPDATE_LIST: v5.UpdateList,
    v5.CMD_STATUS_CHANGE: v5.StatusChange,
    v5.CMD_SEND_MESSAGE: v5.SendMessage,
    v5.CMD_MSG_TO_NEW_USER: v5.SendMessage,
}


class V5Handler(SharedCommands):
    """
    @ivar table: command code to handler method (the transport's dispatch table).
    @ivar authorization: the L{iserverd.core.authorization.Authorization}
        check shared with v3.
    @ivar meta: the L{V5Meta} serving info, search and registration.
    """

    log = Logger()
    version = v5.VERSION
    session_ids = True

    def __init__(self, network, send, config, speaker, directory, authorization, accounts):
        """
        @param speaker: the L{iserverd.speakers.v5.V5Speaker} of this server
            (its C{rng} also picks the checkcode of unreliable replies).
        @param directory: the L{iserverd.storage.directory.IDirectory}.
        @param accounts: the L{iserverd.storage.interfaces.IUserStore} and
            L{iserverd.storage.interfaces.IMessageStore} (passwords, the
            welcome text of a new account).
        """
        self.network = network
        self.send = send
        self.config = config
        self.speaker = speaker
        self.rng = speaker.rng
        self.authorization = authorization
        self.table = {
            v5.CMD_ACK: self.client_ack,
            v5.CMD_LOGIN: self.login,
            v5.CMD_GET_DEPS: self.get_deps,
            v5.CMD_FIRST_LOGIN: self.first_login,
            v5.CMD_KEEP_ALIVE: self.acknowledge,
            v5.CMD_KEEP_ALIVE2: self.acknowledge,
            v5.CMD_LOGOFF: self.logoff,
            v5.CMD_CONTACT_LIST: self.contact_list,
            v5.CMD_VIS_LIST: self.visible_list,
            v5.CMD_INVIS_LIST: self.invisible_list,
            v5.CMD_ADD_TO_LIST: self.add_contact,
            v5.CMD_UPDATE_LIST: self.update_list,
            v5.CMD_STATUS_CHANGE: self.status_change,
            v5.CMD_SEND_MESSAGE: self.send_message,
            v5.CMD_MSG_TO_NEW_USER: self.send_message,
            # Delivered messages were already deleted one by one as acknowledged.
            v5.CMD_ACK_MESSAGES: self.acknowledge,
            v5.CMD_SYSMSG_REQ: self.offline_request,
        }
        # User info, search, registration and account changes (handlers/v5_meta.py).
        self.attach_meta(V5Meta(self, directory, accounts))

    def decode(self, datagram):
        return v5.decode_client(datagram)


    @staticmethod
    def parse_request(packet):
        """The parameters of a session command parsed here, else L{None} (V5Meta parses its own)."""
        parser = REQUESTS.get(packet.command)
        return None if parser is None else parser.parse(packet.data)

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

    # --- commands without a session -------------------------------------------

    def login(self, packet, addr):
        """LOGIN: acknowledge, check, then HELLO or the matching refusal."""
        request = v5.LoginRequest.parse(packet.data)
        self.ack(packet, addr)
        info = ClientInfo(
            tcp_port=request.tcp_port, internal_ip=request.internal_ip, dc_type=request.dc_type,
            tcp_version=request.tcp_version, web_port=request.web_port,
            client_features=request.client_features,
        )
        login = LoginRequest(packet.uin, request.password, addr, packet.session_id,
                             request.status, request.estatus, info, packet.seq2)
        d = self.network.login(self.speaker, login)

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
        session = self.own_session(packet, addr)
        if session is None:
            return
        if request.ok:
            self.network.logoff(session)

    @staticmethod
    def ends_list(request):
        """CONTACT_LIST: one packet of up to 100 UINs; a short packet ends the list."""
        return len(request.uins) < LIST_PACKET_SIZE

    @session_command
    def update_list(self, session, packet, addr, request):
        """
        UPDATE_LIST: list type 1 = invisible, 2 = visible (IServerd and micq;
        licq's v5 build numbers them differently, v5.md section 20 #4), 0 =
        contact list (micq).
        """
        add = request.action == v5.LIST_ACTION_ADD
        if request.list_type == v5.LIST_CONTACT and add:
            return self.authorization.add_contact(self, session, packet, addr, request.uin)
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

    @session_command
    def status_change(self, session, packet, addr, request):
        """STATUS_CHANGE: WORD status and WORD flags, both relayed (v5.md section 20 #21)."""
        self.ack(packet, addr)
        self.network.set_status(session, request.status, request.flags)

    @session_command
    def send_message(self, session, packet, addr, request):
        """
        A message through the server: acknowledged once it is queued for the
        online recipient or stored; not acknowledged (so the client resends)
        while the database is away.
        """
        return relay_message(self, session, packet, addr, request.recipient, request.msg_type, request.text,
                             self.config.v5_max_msgsize)

    @session_command
    def offline_request(self, session, packet, addr, request):
        """0x044C: acknowledged (IServerd ignored it) and used to trigger offline delivery."""
        self.ack(packet, addr)
        if session.offline_delivery == "due":
            return self.network.deliver_offline(session)
        return None
