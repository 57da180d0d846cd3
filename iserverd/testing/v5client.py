"""
A small ICQ v5 client for loopback tests: it speaks the protocol the way licq
does (encrypted packets, ACKs for every reliable server packet, licq's rule for
server SEQ1) and lets a test wait for the packets it expects.
"""

import random

from twisted.internet import defer
from twisted.internet.protocol import DatagramProtocol

from iserverd.codec import v5
from iserverd.testing.inbox import WAIT, Inbox

# Server packets a client does not acknowledge.
UNRELIABLE = {v5.SRV_ACK, v5.SRV_NOT_CONNECTED, v5.SRV_BUSY, v5.SRV_LOGIN_ERR}


class V5Client(Inbox, DatagramProtocol):
    """
    @ivar received: every server packet accepted, in order.
    @ivar auto_ack: acknowledge reliable packets (turn off to play a dead client).
    """

    def __init__(self, reactor, server, uin, password, session_id=None, seed=None):
        self.init_inbox(reactor)
        self.server = server
        self.uin = uin
        self.password = password
        rng = random.Random(seed if seed is not None else uin)
        self.session_id = rng.randrange(1, 0x3FFFFFFF) if session_id is None else session_id
        self.seq1 = rng.randrange(0x7FFF)
        self.seq2 = 0
        self.auto_ack = True
        self.acks = {}
        self.last_seq = None

    # --- sending ----------------------------------------------------------------

    def raw(self, command, data=b"", seq1=None, seq2=None, session_id=None, uin=None):
        """Send one packet with explicit header fields; return it."""
        packet = v5.ClientPacket(
            self.uin if uin is None else uin,
            self.session_id if session_id is None else session_id,
            command,
            self.seq1 if seq1 is None else seq1,
            self.seq2 if seq2 is None else seq2,
            data,
        )
        self.transport.write(v5.encode_client(packet, r1=24, r2=0x10), self.server)
        return packet

    def send(self, command, data=b""):
        """
        Send a command with the next sequence numbers.

        @return: Deferred firing with the server's ACK packet.
        """
        self.seq1 = (self.seq1 + 1) & 0xFFFF
        self.seq2 = (self.seq2 + 1) & 0xFFFF
        packet = self.raw(command, data)
        d = defer.Deferred()
        self.acks.setdefault(packet.seq1, []).append(d)
        return d.addTimeout(WAIT, self.reactor)

    def login(self, status=0, flags=0, timeout=WAIT):
        """Send LOGIN; fire with the first answer (HELLO, BAD_PASSWORD, BUSY or LOGIN_ERR)."""
        self.seq1 = random.Random(self.session_id).randrange(0x7FFF)
        self.seq2 = 1
        self.last_seq = None
        request = v5.LoginRequest(tcp_port=0, password=self.password, internal_ip="127.0.0.1",
                                  status=status, estatus=flags)
        self.raw(v5.CMD_LOGIN, request.build())
        return self.wait_for(
            lambda p: p.command in (v5.SRV_HELLO, v5.SRV_BAD_PASSWORD, v5.SRV_BUSY, v5.SRV_LOGIN_ERR), timeout
        )

    def contact_list(self, uins):
        return self.send(v5.CMD_CONTACT_LIST, v5.UinList(tuple(uins)).build())

    def message(self, to, text, msg_type=1):
        return self.send(v5.CMD_SEND_MESSAGE, v5.SendMessage(to, msg_type, text).build())

    def status(self, status, flags=0):
        return self.send(v5.CMD_STATUS_CHANGE, v5.StatusChange(status, flags).build())

    def keep_alive(self):
        return self.send(v5.CMD_KEEP_ALIVE, b"\x01\x02\x03\x04")

    def meta(self, subcommand, data=b""):
        """
        Send a META_USER request (the request's SEQ2 is C{self.seq2} after the call).

        @return: Deferred firing with the server's ACK packet.
        """
        return self.send(v5.CMD_META_USER, v5.MetaRequest(subcommand, data).build())

    @defer.inlineCallbacks
    def replies(self, seq2, count=1, command=v5.SRV_META_USER, timeout=WAIT):
        """
        Fire with the next C{count} packets of C{command} that carry C{seq2},
        in order; META replies come parsed as L{v5.MetaReply}.
        """
        found = []
        for _ in range(count):
            packet = yield self.wait_for(lambda p: p.command == command and p.seq2 == seq2, timeout)
            found.append(v5.MetaReply.parse(packet.data) if command == v5.SRV_META_USER else packet)
        return found

    @defer.inlineCallbacks
    def ask(self, subcommand, data=b"", count=1):
        """Send a META request and fire with its first C{count} replies (L{v5.MetaReply})."""
        yield self.meta(subcommand, data)
        found = yield self.replies(self.seq2, count)
        return found

    def register(self, password, email=b"", x2=0x2461):
        """
        Send REG_NEW_USER as licq does (UIN 0, SEQ2 1); fire with the
        server's ACK of it (NEW_UIN, when sent, follows).
        """
        self.seq1 = random.Random(self.session_id).randrange(0x7FFF)
        request = v5.RegisterRequest(password, 0xA0, x2, email)
        packet = self.raw(v5.CMD_REG_NEW_USER, request.build(), seq2=1, uin=0)
        return self.wait_for(lambda p: p.command == v5.SRV_ACK and p.seq1 == packet.seq1)

    def logoff(self):
        self.seq1 = (self.seq1 + 1) & 0xFFFF
        self.raw(v5.CMD_LOGOFF, v5.Logoff().build())

    # --- receiving --------------------------------------------------------------

    def datagramReceived(self, datagram, addr):
        packet = v5.decode_server(datagram)
        if packet.version == v5.VERSION and packet.command not in UNRELIABLE and self.auto_ack:
            # licq's rule (v5.md section 4.3): take only the next SEQ1, re-ACK
            # older ones without processing them, ignore the ones that skip.
            expected = 0 if self.last_seq is None else (self.last_seq + 1) & 0xFFFF
            if packet.seq1 != expected:
                if self.last_seq is not None and ((self.last_seq - packet.seq1) & 0xFFFF) < 0x8000:
                    self._ack(packet)
                return
            self.last_seq = packet.seq1
            self._ack(packet)
        if packet.command == v5.SRV_ACK:
            for d in self.acks.pop(packet.seq1, []):
                d.callback(packet)
        self.deliver(packet)

    def _ack(self, packet):
        self.raw(v5.CMD_ACK, b"\x00\x00\x00\x00", seq1=packet.seq1, seq2=packet.seq2)

    def wait_command(self, command, timeout=WAIT, **fields):
        """Wait for a packet with this command whose parsed data has these fields."""
        parsers = {
            v5.SRV_USER_ONLINE: v5.UserOnline, v5.SRV_USER_OFFLINE: v5.UserOffline,
            v5.SRV_USER_STATUS: v5.UserStatus, v5.SRV_ONLINE_MESSAGE: v5.OnlineMessage,
            v5.SRV_OFFLINE_MESSAGE: v5.OfflineMessage,
        }

        def match(packet):
            if packet.command != command:
                return False
            if not fields:
                return True
            parsed = parsers[command].parse(packet.data)
            return all(getattr(parsed, k) == v for k, v in fields.items())

        return self.wait_for(match, timeout)



@defer.inlineCallbacks
def connect(testcase, reactor, server_port, uin, password, **kw):
    """A V5Client bound to loopback, closed when the test ends."""
    client = V5Client(reactor, ("127.0.0.1", server_port), uin, password, **kw)
    port = reactor.listenUDP(0, client, interface="127.0.0.1")
    testcase.addCleanup(port.stopListening)
    yield None
    return client
