"""
Tests for L{iserverd.transport}: dispatch, and that nothing escapes datagramReceived.
"""

from twisted.internet import defer
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import globalLogPublisher
from twisted.trial import unittest

from iserverd.codec.errors import MalformedPacket
from iserverd.transport import ICQProtocol


class _Packet:
    def __init__(self, command):
        self.command = command


class _Handler:
    def __init__(self):
        self.seen = []
        self.table = {1: self.one, 2: self.fails, 3: self.fails_later}

    def decode(self, datagram):
        if len(datagram) < 4:
            raise MalformedPacket("short")
        return _Packet(datagram[2])

    def one(self, packet, addr):
        self.seen.append(("one", addr))

    def fails(self, packet, addr):
        raise RuntimeError("boom")

    def fails_later(self, packet, addr):
        return defer.fail(RuntimeError("later"))

    def unknown(self, packet, addr):
        self.seen.append(("unknown", packet.command))


class TransportTests(unittest.TestCase):
    """
    The protocol routes by version and command and contains every failure.
    """

    def setUp(self):
        self.handler = _Handler()
        self.protocol = ICQProtocol({7: self.handler})
        self.log = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)

    def test_dispatch(self):
        """A packet goes to the (version, command) handler, or to unknown()."""
        self.protocol.datagramReceived(b"\x07\x00\x01\x00", ("127.0.0.1", 1))
        self.protocol.datagramReceived(b"\x07\x00\x09\x00", ("127.0.0.1", 1))
        self.assertEqual(self.handler.seen, [("one", ("127.0.0.1", 1)), ("unknown", 9)])

    def test_malformed_logged_once(self):
        """A malformed or unknown-version datagram is one log event with source, length and reason."""
        for datagram in (b"", b"\x07\x00\x01", b"\x09\x00\x01\x00", b"x" * 9000):
            self.protocol.datagramReceived(datagram, ("192.0.2.1", 4000))
        events = [e for e in self.log if "reason" in e]
        self.assertEqual(len(events), 4)
        self.assertEqual({e["host"] for e in events}, {"192.0.2.1"})
        self.assertEqual(self.protocol.counters["malformed"], 4)

    def test_zero_source_dropped(self):
        """Datagrams from 0.0.0.0 are dropped (IServerd reserved it for internal packets)."""
        self.protocol.datagramReceived(b"\x07\x00\x01\x00", ("0.0.0.0", 1))
        self.assertEqual(self.handler.seen, [])

    def test_handler_failures_contained(self):
        """A raising handler and a failing Deferred are logged, never raised."""
        self.protocol.datagramReceived(b"\x07\x00\x02\x00", ("127.0.0.1", 1))
        self.protocol.datagramReceived(b"\x07\x00\x03\x00", ("127.0.0.1", 1))
        self.assertEqual(self.protocol.counters["errors"], 2)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 2)
