"""
Tests for L{iserverd.services.busy}: the gate with a L{task.Clock} and a fake
transport, the transport's hook, and a real server on loopback.
"""

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import defer, reactor, task
from twisted.internet.testing import EventLoggingObserver, FakeDatagramTransport
from twisted.logger import globalLogPublisher
from twisted.trial import unittest

from iserverd import config
from iserverd.codec import v5
from iserverd.services.busy import QUIET, BusyGate
from iserverd.testing.v5client import connect
from iserverd.transport import ICQProtocol

STRANGER = ("192.0.2.7", 5555)
ALICE_ADDR = ("198.51.100.1", 4001)


class FakeSession:
    def __init__(self, uin, addr, version=5):
        self.uin = uin
        self.addr = addr
        self.version = version
        self.active = True


def login_datagram(uin=10009, seq2=7, session_id=0x1234567):
    packet = v5.ClientPacket(uin, session_id, v5.CMD_LOGIN, 100, seq2,
                             v5.LoginRequest(tcp_port=0, password=b"guess").build())
    return v5.encode_client(packet)


def v5_datagram(command, uin=10001, seq1=3, seq2=4, session_id=0x0ABCDEF, data=b"\x00" * 4):
    return v5.encode_client(v5.ClientPacket(uin, session_id, command, seq1, seq2, data))


def v3_datagram(command, uin=20001, seq1=5, seq2=6):
    # WORD version 3, WORD command, WORD SEQ1, WORD SEQ2, DWORD UIN, DWORD 0
    return (b"\x03\x00" + command.to_bytes(2, "little") + seq1.to_bytes(2, "little")
            + seq2.to_bytes(2, "little") + uin.to_bytes(4, "little") + b"\x00" * 4)


class GateTests(unittest.TestCase):
    """
    The gate alone: budgets, BUSY replies, sessions served over budget, the
    overload log.
    """

    def setUp(self):
        self.clock = task.Clock()
        self.clock.advance(1000)
        self.sessions = {}
        self.sent = []
        self.observer = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)

    def gate(self, **settings):
        values = dict(overload_rate=1000, overload_burst=1000, overload_source_rate=1,
                      overload_source_burst=3, overload_busy_rate=100)
        values.update(settings)
        cfg = config.load(None, values)
        return BusyGate(cfg, self.clock, self.sessions.get, lambda d, a: self.sent.append((d, a)))

    def exhaust(self, gate, addr=STRANGER):
        """Spend the source's budget with garbage (admitted packets are not answered by the gate)."""
        while gate.admit(b"\x00" * 30, addr):
            pass
        del self.sent[:]

    def test_within_budget(self):
        """Within the source's burst packets pass without a reply."""
        gate = self.gate()
        self.assertEqual([gate.admit(login_datagram(), STRANGER) for _ in range(3)], [True] * 3)
        self.assertEqual(self.sent, [])

    def test_v5_busy(self):
        """A v5 packet over budget gets the 21-byte BUSY: SEQ1 0, SEQ2 and session id copied."""
        gate = self.gate()
        self.exhaust(gate)
        self.assertFalse(gate.admit(login_datagram(uin=10009, seq2=7, session_id=0x1234567), STRANGER))
        [(datagram, addr)] = self.sent
        self.assertEqual(addr, STRANGER)
        self.assertEqual(len(datagram), v5.SERVER_HEADER_SIZE)
        busy = v5.decode_server(datagram)
        self.assertEqual((busy.version, busy.command, busy.seq1, busy.seq2, busy.uin, busy.session_id),
                         (5, v5.SRV_BUSY, 0, 7, 10009, 0x1234567))
        self.assertEqual(busy.data, b"")

    def test_v3_busy(self):
        """A v3 packet over budget gets the v3 BUSY header: command 0x00FA, SEQ1 0, SEQ2 and UIN copied."""
        gate = self.gate()
        self.exhaust(gate)
        self.assertFalse(gate.admit(v3_datagram(0x03E8, uin=20001, seq2=6), STRANGER))
        self.assertEqual(self.sent, [(
            b"\x03\x00"  # version 3
            b"\xfa\x00"  # command BUSY
            b"\x00\x00"  # SEQ1 0
            b"\x06\x00"  # SEQ2 of the request
            b"\x21\x4e\x00\x00"  # UIN 20001
            b"\x00\x00\x00\x00",  # reserved
            STRANGER,
        )])

    def test_no_reply_to_acks_or_garbage(self):
        """Over budget, a client ACK, a malformed v5 packet or an unknown version is dropped silently."""
        gate = self.gate()
        self.exhaust(gate)
        corrupt = bytearray(login_datagram())
        corrupt[20:24] = b"\xff\xff\xff\xff"
        garbage = (v5_datagram(v5.CMD_ACK), v3_datagram(0x000A), bytes(corrupt), b"\x07\x00" + b"x" * 30, b"\x05")
        for datagram in garbage:
            self.assertFalse(gate.admit(datagram, STRANGER))
        self.assertEqual(self.sent, [])
        self.assertEqual(gate.counters["dropped"], 1 + 5)  # exhaust() ended on one refused

    def test_sessions_served_over_budget(self):
        """A logged-in user's packets pass even when its address and the server are over budget."""
        self.sessions[10001] = FakeSession(10001, ALICE_ADDR)
        self.sessions[20001] = FakeSession(20001, ALICE_ADDR, version=3)
        gate = self.gate(overload_rate=1, overload_burst=1)
        self.exhaust(gate, ALICE_ADDR)
        for command in (v5.CMD_ACK, v5.CMD_KEEP_ALIVE, v5.CMD_SEND_MESSAGE):
            self.assertTrue(gate.admit(v5_datagram(command, uin=10001), ALICE_ADDR))
        self.assertTrue(gate.admit(v3_datagram(0x042E, uin=20001), ALICE_ADDR))
        self.assertEqual(self.sent, [])
        self.assertEqual(gate.counters["sessions"], 4)

    def test_sessions_unmetered(self):
        """A session's packets take nothing from its address's budget or the global one."""
        self.sessions[10001] = FakeSession(10001, ALICE_ADDR)
        gate = self.gate(overload_rate=1, overload_burst=2, overload_source_burst=2)
        for _ in range(100):
            self.assertTrue(gate.admit(v5_datagram(v5.CMD_SEND_MESSAGE, uin=10001), ALICE_ADDR))
        self.assertEqual([gate.admit(login_datagram(), (ALICE_ADDR[0], 4002)) for _ in range(3)],
                         [True, True, False])

    def test_session_elsewhere_is_a_stranger(self):
        """A packet naming an online UIN from another address or port, or of the other version, gets BUSY."""
        self.sessions[10001] = FakeSession(10001, ALICE_ADDR)
        gate = self.gate()
        self.exhaust(gate, (ALICE_ADDR[0], 9999))
        self.assertFalse(gate.admit(v5_datagram(v5.CMD_KEEP_ALIVE, uin=10001), (ALICE_ADDR[0], 9999)))
        self.assertFalse(gate.admit(v3_datagram(0x042E, uin=10001), (ALICE_ADDR[0], 9999)))
        self.assertEqual([v5.decode_server(d).command for d, _ in self.sent], [v5.SRV_BUSY, v5.SRV_BUSY])

    def test_source_refills(self):
        """A source over budget is served again once its bucket has refilled (1 token/s)."""
        gate = self.gate()
        self.exhaust(gate)
        self.assertFalse(gate.admit(login_datagram(), STRANGER))
        self.clock.advance(1)
        self.assertTrue(gate.admit(login_datagram(), STRANGER))

    def test_global_budget(self):
        """Beyond the global budget strangers from every address get BUSY."""
        gate = self.gate(overload_rate=1, overload_burst=4, overload_source_burst=100)
        results = [gate.admit(login_datagram(), ("192.0.2.%d" % i, 4000)) for i in range(6)]
        self.assertEqual(results, [True] * 4 + [False] * 2)
        self.assertEqual(len(self.sent), 2)

    def test_noisy_source_spares_the_global_budget(self):
        """One source over its own budget takes nothing from the global budget."""
        gate = self.gate(overload_rate=1, overload_burst=5, overload_source_burst=2)
        for _ in range(50):
            gate.admit(login_datagram(), STRANGER)
        self.assertEqual([gate.admit(login_datagram(), ("203.0.113.%d" % i, 4000)) for i in range(3)],
                         [True, True, True])

    def test_busy_reply_budget(self):
        """Beyond the BUSY reply rate refused packets are dropped without a reply."""
        gate = self.gate(overload_busy_rate=2)
        self.exhaust(gate)
        for _ in range(5):
            gate.admit(login_datagram(), STRANGER)
        self.assertEqual(len(self.sent), 2)
        self.assertEqual((gate.counters["busy"], gate.counters["dropped"]), (2, 3 + 1))

    def test_overload_logged_once_each_way(self):
        """Entering overload is logged once, leaving it once, after QUIET seconds without a refusal."""
        gate = self.gate()
        gate.startService()
        self.addCleanup(gate.stopService)
        self.exhaust(gate)
        for _ in range(10):
            gate.admit(login_datagram(), STRANGER)
        self.clock.advance(1)
        self.assertIsNotNone(gate.overloaded_since)
        self.clock.advance(QUIET)
        self.assertIsNone(gate.overloaded_since)
        texts = [e["log_format"] for e in self.observer if e.get("log_namespace", "").endswith("BusyGate")]
        self.assertEqual(len(texts), 2)
        self.assertIn("overload:", texts[0])
        self.assertIn("overload over", texts[1])
        leaving = [e for e in self.observer if "overload over" in e.get("log_format", "")][0]
        self.assertEqual((leaving["refused"], leaving["busy"]), (11, 10))

    @given(st.lists(st.tuples(st.binary(max_size=64), st.integers(0, 2**32 - 1), st.integers(0, 65535)),
                    max_size=300))
    def test_any_datagram_from_anywhere(self, traffic):
        """Random datagrams from random sources: admit returns a verdict, never raises, the table stays bounded."""
        self.sessions[10001] = FakeSession(10001, ALICE_ADDR)
        gate = self.gate(overload_rate=5, overload_burst=20, overload_source_table=16)
        for payload, host, port in traffic:
            for datagram in (payload, b"\x05\x00" + payload, b"\x03\x00" + payload):
                self.assertIn(gate.admit(datagram, ("%d.%d.%d.%d" % tuple(host.to_bytes(4, "big")), port)),
                              (True, False))
            self.assertLessEqual(len(gate.sources), 16)

    def test_tick_forgets_idle_sources(self):
        """The tick drops sources idle for their refill time (burst 3 at 1/s: 3 s)."""
        gate = self.gate()
        gate.startService()
        self.addCleanup(gate.stopService)
        gate.admit(login_datagram(), STRANGER)
        self.assertEqual(len(gate.sources), 1)
        self.clock.advance(3)
        self.assertEqual(len(gate.sources), 0)


class TransportHookTests(unittest.TestCase):
    """
    The transport consults the gate before decoding; refused datagrams never
    reach a handler.
    """

    def test_refused_not_dispatched(self):
        """A datagram the gate refuses is counted and not handed to its handler."""
        handled = []

        class Handler:
            table = {v5.CMD_LOGIN: lambda packet, addr: handled.append(packet)}

            def decode(self, datagram):
                return v5.decode_client(datagram)

        class Gate:
            verdicts = [True, False]

            def admit(self, datagram, addr):
                return self.verdicts.pop(0)

        protocol = ICQProtocol({5: Handler()})
        protocol.gate = Gate()
        protocol.makeConnection(FakeDatagramTransport())
        protocol.datagramReceived(login_datagram(), STRANGER)
        protocol.datagramReceived(login_datagram(), STRANGER)
        self.assertEqual(len(handled), 1)
        self.assertEqual(protocol.counters["refused"], 1)

    def test_gate_failure_contained(self):
        """A gate that raises is one logged error; the transport does not raise."""

        class Gate:
            def admit(self, datagram, addr):
                raise RuntimeError("boom")

        protocol = ICQProtocol({})
        protocol.gate = Gate()
        protocol.datagramReceived(login_datagram(), STRANGER)
        self.assertEqual(protocol.counters["errors"], 1)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class LoopbackTests(unittest.TestCase):
    """
    A real server on loopback with a real PostgreSQL: a stranger over budget
    gets BUSY while two logged-in users go on talking.
    """

    @defer.inlineCallbacks
    def setUp(self):
        from tests.support import PASSWORDS, start_server

        self.passwords = PASSWORDS
        # The server's clock is a task.Clock that this test never advances, so
        # the 127.0.0.1 bucket does not refill: its burst is all it gets.
        self.server, self.clock, self.dsn = yield start_server(
            self, overload_source_rate=1, overload_source_burst=60
        )
        self.gate = self.server.protocol.gate

    def online(self, uin, contacts):
        from tests import support

        return support.v5_online(self, self.server, uin, self.passwords[uin], contacts)

    @defer.inlineCallbacks
    def test_busy_to_strangers_sessions_served(self):
        """Over budget, a stranger's LOGIN gets BUSY (SEQ2 and session copied) while online users still talk."""
        alice = yield self.online(10001, [10002])
        bob = yield self.online(10002, [10001])
        stranger = yield connect(self, reactor, self.server.udp_port, 10003, self.passwords[10003])
        # Spend what is left of 127.0.0.1's budget: each admitted keep-alive is
        # answered NOT_CONNECTED, the first refused one BUSY.
        while True:
            stranger.raw(v5.CMD_KEEP_ALIVE, b"\x00" * 4, seq2=1)
            reply = yield stranger.wait_for(lambda p: p.command in (v5.SRV_NOT_CONNECTED, v5.SRV_BUSY))
            if reply.command == v5.SRV_BUSY:
                break
        busy = yield stranger.login()
        self.assertEqual((busy.command, busy.seq1, busy.seq2, busy.session_id),
                         (v5.SRV_BUSY, 0, 1, stranger.session_id))
        yield alice.message(10002, b"still here")
        got = yield bob.wait_command(v5.SRV_ONLINE_MESSAGE, sender=10001)
        self.assertEqual(v5.OnlineMessage.parse(got.data).text, b"still here")
        yield bob.keep_alive()
        self.assertIsNone(self.server.network.sessions.get(10003))
        self.assertGreater(self.gate.counters["sessions"], 0)
        self.assertEqual(self.server.network.counters["logins"], 2)
