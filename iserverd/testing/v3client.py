"""
A small ICQ v3 client for loopback tests: it speaks the protocol the way
Miranda's ICQCorp plugin does (SEQ1 = SEQ2 from one counter, PING with SEQ2 0,
LOGOFF with both 0, an ACK for every reliable server packet and for every
fragment, joined fragments processed and ACKed once more) and lets a test
wait for the packets it expects.
"""

from twisted.internet import defer
from twisted.internet.protocol import DatagramProtocol

from iserverd.codec import v3
from iserverd.testing.inbox import WAIT, Inbox

# Server packets a client does not acknowledge (v3.md 4.3).
UNRELIABLE = {
    v3.SRV_ACK, v3.SRV_NOT_CONNECTED, v3.SRV_BUSY, v3.SRV_WRONG_PASSWD, v3.SRV_LOGIN_ERR,
    v3.SRV_DEPS_LIST, v3.SRV_REGISTRATION_OK,
}
LOGIN_ANSWERS = {v3.SRV_HELLO, v3.SRV_WRONG_PASSWD, v3.SRV_LOGIN_ERR, v3.SRV_BUSY}
# Server packets that answer a request and carry its SEQ2 (v3.md 3.2).
REPLIES = {
    v3.SRV_SEARCH_FOUND, v3.SRV_SEARCH_DONE, v3.SRV_INFO_SINGLE, v3.SRV_INFO_BASIC, v3.SRV_INFO_HOME,
    v3.SRV_INFO_HOME_PAGE, v3.SRV_INFO_WORK, v3.SRV_INFO_WORK_PAGE, v3.SRV_INVALID_UIN, v3.SRV_NOTES,
    v3.SRV_SET_PASSWORD_OK, v3.SRV_SET_BASIC_INFO_OK, v3.SRV_SET_AUTH_OK, v3.SRV_SET_WORK_PAGE_OK,
    v3.SRV_SET_WORK_INFO_OK, v3.SRV_SET_HOME_INFO_OK, v3.SRV_SET_HOME_PAGE_OK, v3.SRV_SET_NOTES_OK,
}


class V3Client(Inbox, DatagramProtocol):
    """
    @ivar received: every server packet accepted, in order (joined fragments
        appear as the packet they carried).
    @ivar fragments: the FRAGMENT packets received, in order.
    @ivar auto_ack: acknowledge reliable packets (turn off to play a dead client).
    @ivar drop: L{None}, or a predicate on decoded packets; a packet it
        accepts is ignored as if lost on the way.
    """

    def __init__(self, reactor, server, uin, password):
        self.init_inbox(reactor)
        self.server = server
        self.uin = uin
        self.password = password
        self.seq = 0
        self.auto_ack = True
        self.drop = None
        self.fragments = []
        self.acks = {}
        self._pieces = {}

    # --- sending ----------------------------------------------------------------

    def raw(self, command, data=b"", seq1=None, seq2=None, uin=None, reserved=0):
        """Send one packet with explicit header fields; return it."""
        packet = v3.Packet(
            command,
            self.seq if seq1 is None else seq1,
            self.seq if seq2 is None else seq2,
            self.uin if uin is None else uin,
            data,
            reserved,
        )
        self.transport.write(v3.encode(packet), self.server)
        return packet

    def _expect_ack(self, seq1, timeout=WAIT):
        d = defer.Deferred()
        self.acks.setdefault(seq1, []).append(d)
        return d.addTimeout(timeout, self.reactor)

    def send(self, command, data=b"", seq2=None):
        """
        Send a command with the next sequence number (SEQ2 = SEQ1 unless given).

        @return: Deferred firing with the server's ACK packet.
        """
        self.seq = (self.seq + 1) & 0xFFFF
        d = self._expect_ack(self.seq)
        self.raw(command, data, seq2=seq2)
        return d

    def send_fragmented(self, command, data, pieces=2, swap=False):
        """
        Send one packet as C{pieces} FRAGMENTs sharing the inner packet's SEQ2
        (the bytes written (index, count), or (count, index) with C{swap}).

        @return: Deferred firing when every fragment and the joined packet are ACKed.
        """
        self.seq = (self.seq + 1) & 0xFFFF
        first = self.seq
        inner = v3.encode(v3.Packet(command, first, first, self.uin, data))
        size = -(-len(inner) // pieces)
        chunks = [inner[i : i + size] for i in range(0, len(inner), size)]
        acks = []
        for index, chunk in enumerate(chunks):
            seq1 = (first + index) & 0xFFFF
            head = bytes((len(chunks), index)) if swap else bytes((index, len(chunks)))
            acks.append(self._expect_ack(seq1))
            self.raw(v3.CMD_FRAGMENT, head + chunk, seq1=seq1, seq2=first)
        self.seq = (first + len(chunks) - 1) & 0xFFFF
        # The joined packet is ACKed too, with its own (the first) SEQ1.
        acks.append(self._expect_ack(first))
        return defer.gatherResults(acks).addCallback(lambda _: None)

    def login(self, status=0, flags=0, password=None, timeout=WAIT):
        """Send LOGON (SEQ1 = SEQ2 = 1); fire with the first answer (HELLO, WRONG_PASSWD, LOGIN_ERR or BUSY)."""
        self.seq = 1
        request = v3.Logon(
            tcp_port=1234, password=self.password if password is None else password,
            internal_ip="127.0.0.1", status=status, status_flags=flags,
        )
        self.raw(v3.CMD_LOGON, request.build())
        return self.wait_for(lambda p: p.command in LOGIN_ANSWERS, timeout)

    def contact_list(self, uins):
        return self.send(v3.CMD_CONTACT_LIST, v3.UinList(tuple(uins)).build())

    def user_add(self, uin):
        return self.send(v3.CMD_USER_ADD, v3.UinBody(uin).build())

    def message(self, to, text, msg_type=1):
        return self.send(v3.CMD_THRU_SERVER, v3.Message(to, msg_type, text).build())

    def status(self, status, flags=None):
        """SET_STATUS: one WORD (Miranda) or, with C{flags}, WORD status + WORD flags."""
        return self.send(v3.CMD_SET_STATUS, v3.SetStatus(status, flags).build())

    def ping(self):
        return self.send(v3.CMD_PING, seq2=0)

    def offline_request(self):
        return self.send(v3.CMD_SYSMSG_REQ)

    def offline_done(self, time):
        return self.send(v3.CMD_SYSMSG_DONE_ACK, v3.SysmsgDoneAck(time).build())

    def logoff(self):
        self.raw(v3.CMD_LOGOFF, v3.Logoff().build(), seq1=0, seq2=0)

    @defer.inlineCallbacks
    def ask(self, command, data=b"", count=1, seq2=None, timeout=WAIT):
        """
        Send a request and fire with the C{count} replies (info, search,
        notes, C{*_OK}, INVALID_UIN) that carry its SEQ2, in order.
        """
        ack = yield self.send(command, data, seq2=seq2)
        replies = []
        for _ in range(count):
            reply = yield self.wait_for(lambda p: p.command in REPLIES and p.seq2 == ack.seq2, timeout)
            replies.append(reply)
        return replies

    def search(self, field, mode, value, count=1, seq2=0):
        """SEARCH_START (SEQ2 0, as Miranda sends it); fire with C{count} replies, SEARCH_DONE last."""
        if isinstance(value, int):
            request = v3.SearchStart(field, mode, number=value)
        else:
            request = v3.SearchStart(field, mode, text=value)
        return self.ask(v3.CMD_SEARCH_START, request.build(), count, seq2=seq2)

    def registration_info(self):
        """REG_REQUEST_INFO (header UIN 0); fire with the joined REGISTER_INFO packet."""
        self.seq = (self.seq + 1) & 0xFFFF
        self.raw(v3.CMD_REG_REQUEST_INFO, uin=0)
        return self.wait_command(v3.SRV_REGISTER_INFO)

    def register(self, form, seq=None):
        """REG_NEW_USER_INFO (header UIN 0); fire with REGISTRATION_OK."""
        if seq is None:
            self.seq = (self.seq + 1) & 0xFFFF
        self.raw(v3.CMD_REG_NEW_USER_INFO, form.build(), seq1=seq, seq2=seq, uin=0)
        return self.wait_command(v3.SRV_REGISTRATION_OK)

    # --- receiving --------------------------------------------------------------

    def datagramReceived(self, datagram, addr):
        packet = v3.decode(datagram)
        if self.drop is not None and self.drop(packet):
            return
        if packet.command == v3.SRV_FRAGMENT:
            self.fragments.append(packet)
            self._ack(packet)
            joined = self._join(packet)
            if joined is None:
                return
            packet = v3.decode(joined)
        if packet.command not in UNRELIABLE:
            self._ack(packet)
        self.deliver(packet)
        if packet.command == v3.SRV_ACK:
            # One waiter per ACK, oldest first: a joined fragment's packet is
            # ACKed with the first fragment's SEQ1 again.
            waiters = self.acks.get(packet.seq1, [])
            while waiters:
                d = waiters.pop(0)
                if not d.called:
                    d.callback(packet)
                    break
            if not waiters:
                self.acks.pop(packet.seq1, None)

    def _join(self, packet):
        """Miranda's reassembly: pieces by (SEQ2, index); join once 0 .. count-1 are in."""
        fragment = v3.Fragment.parse(packet.data)
        pieces = self._pieces.setdefault(packet.seq2, {})
        pieces[fragment.index] = fragment.piece
        if len(pieces) < fragment.count:
            return None
        del self._pieces[packet.seq2]
        return b"".join(pieces[i] for i in range(fragment.count))

    def _ack(self, packet):
        if self.auto_ack:
            self.raw(v3.CMD_ACK, seq1=packet.seq1, seq2=0)

    def wait_command(self, command, timeout=WAIT, **fields):
        """Wait for a packet with this command whose parsed data has these fields."""

        def match(packet):
            if packet.command != command:
                return False
            if not fields:
                return True
            parsed = v3.parse_server_body(packet)
            return all(getattr(parsed, k) == v for k, v in fields.items())

        return self.wait_for(match, timeout)

    def parsed(self, command):
        """The parsed data of the received packets with this command."""
        return [v3.parse_server_body(p) for p in self.of(command)]


@defer.inlineCallbacks
def connect(testcase, reactor, server_port, uin, password):
    """A V3Client bound to loopback, closed when the test ends."""
    client = V3Client(reactor, ("127.0.0.1", server_port), uin, password)
    port = reactor.listenUDP(0, client, interface="127.0.0.1")
    testcase.addCleanup(port.stopListening)
    yield None
    return client
