"""
Fuzzing a live server: random, truncated, bit-flipped and replayed packets of
every command, from many source addresses, straight into the running
server's protocol (a real database behind it).  Nothing may escape, nothing
may be logged as a failure, and the server must still serve afterwards.
"""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import defer, reactor
from twisted.trial import unittest

from iserverd.codec import v3, v5
from iserverd.testing.v5client import connect
from tests.support import ALICE, BOB, PASSWORDS, start_server

V5_COMMANDS = sorted(v5.CLIENT_COMMAND_NAMES)
V3_COMMANDS = sorted(v3.CLIENT_COMMAND_NAMES)
UINS = st.sampled_from([0, 1, ALICE, BOB, 10003, 0xFFFFFFFF])

addresses = st.tuples(
    st.integers(1, 254).map(lambda n: "127.0.0.%d" % n), st.integers(1024, 65535)
)


@st.composite
def v5_packets(draw):
    packet = v5.ClientPacket(
        draw(UINS), draw(st.integers(0, 0xFFFFFFFF)), draw(st.sampled_from(V5_COMMANDS)),
        draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFF)), draw(st.binary(max_size=120)),
    )
    return v5.encode_client(packet, r1=24, r2=draw(st.integers(0, 255)))


@st.composite
def v3_packets(draw):
    return v3.encode(v3.Packet(
        draw(st.sampled_from(V3_COMMANDS)), draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFF)),
        draw(UINS), draw(st.binary(max_size=120)),
    ))


@st.composite
def mutated(draw, packets):
    data = bytearray(draw(packets))
    for _ in range(draw(st.integers(0, 4))):
        if data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
    cut = draw(st.integers(0, len(data)))
    tail = draw(st.binary(max_size=16))
    return bytes(data[:cut]) + (tail if draw(st.booleans()) else b"")


datagrams = st.one_of(
    st.binary(max_size=200),
    v5_packets(),
    v3_packets(),
    mutated(v5_packets()),
    mutated(v3_packets()),
)


class LiveFuzzTests(unittest.TestCase):
    """
    The running server survives hostile input and keeps serving.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.server, self.clock, self.dsn = yield start_server(self)
        self.alice = yield self.login(ALICE)
        self.bob = yield self.login(BOB)

    @defer.inlineCallbacks
    def login(self, uin):
        c = yield connect(self, reactor, self.server.udp_port, uin, PASSWORDS[uin])
        reply = yield c.login()
        self.assertEqual(reply.command, v5.SRV_HELLO)
        return c

    @defer.inlineCallbacks
    def still_serving(self):
        """A fresh pair of logins and a message still work."""
        yield self.server.network.settle()
        a = yield self.login(ALICE)
        b = yield self.login(BOB)
        yield a.message(BOB, b"after the storm")
        got = yield b.wait_command(v5.SRV_ONLINE_MESSAGE, text=b"after the storm")
        self.assertEqual(v5.OnlineMessage.parse(got.data).sender, ALICE)

    @defer.inlineCallbacks
    def test_random_and_mutated(self):
        """Random and mutated v3/v5 packets of every command from many addresses escape nothing."""
        protocol = self.server.protocol

        @settings(max_examples=600)
        @given(datagrams, addresses)
        def feed(datagram, addr):
            protocol.datagramReceived(datagram, addr)

        feed()
        self.assertEqual(protocol.counters["errors"], 0)
        self.assertLessEqual(len(self.server.network.sessions), 3)
        yield self.still_serving()

    @defer.inlineCallbacks
    def test_replayed(self):
        """Captured packets replayed, from their own and other addresses, do not act twice or for others."""
        yield self.alice.contact_list([BOB])
        yield self.alice.wait_command(v5.SRV_END_OFFLINE_MESSAGES)
        sent = []
        original = self.alice.transport.write

        def capture(datagram, addr):
            sent.append(datagram)
            return original(datagram, addr)

        self.alice.transport.write = capture
        yield self.alice.message(BOB, b"once")
        yield self.alice.status(0x0001)
        yield self.alice.keep_alive()
        yield self.bob.wait_command(v5.SRV_ONLINE_MESSAGE, text=b"once")
        own = ("127.0.0.1", self.alice.transport.getHost().port)
        protocol = self.server.protocol
        for datagram in sent * 3:
            protocol.datagramReceived(datagram, own)
            protocol.datagramReceived(datagram, ("127.0.0.9", 4000))
        # Replayed again once the packet is far older than the retransmission window.
        for _ in range(40):
            yield self.alice.keep_alive()
        protocol.datagramReceived(sent[0], own)
        yield self.bob.keep_alive()
        yield self.alice.keep_alive()
        self.assertEqual(
            [v5.OnlineMessage.parse(p.data).text for p in self.bob.of(v5.SRV_ONLINE_MESSAGE)], [b"once"]
        )
        self.assertEqual(protocol.counters["errors"], 0)
