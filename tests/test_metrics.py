"""
Tests for L{iserverd.services.metrics}: a real server with v5 clients on
loopback, scraped over HTTP, and the packet meter on its own.
"""

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import defer, reactor
from twisted.trial import unittest
from twisted.web.client import Agent, readBody

from iserverd import tap
from iserverd.codec import v5
from iserverd.services.metrics import MetricsService, PacketMeter
from iserverd.testing.v5client import connect
from tests.support import ALICE, BOB, PASSWORDS, start_server

LOGIN = "0x%04x" % v5.CMD_LOGIN


class _Gate:
    """A busy gate that admits everything and claims to have sent BUSY replies."""

    def __init__(self, busy):
        self.counters = {"busy": busy}

    def admit(self, datagram, addr):
        return True


class _Timer:
    """A hand-driven monotonic clock for latencies."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class MetricsEndpointTests(unittest.TestCase):
    """
    /metrics shows what the server did, by version, command and outcome.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.server, self.clock, self.dsn = yield start_server(self)
        self.metrics = MetricsService(self.server, port=0, interface="127.0.0.1")
        self.metrics.setServiceParent(self.server)

    @defer.inlineCallbacks
    def scrape(self):
        """Fetch /metrics; return C{{(sample name, sorted label items): value}}."""
        url = b"http://127.0.0.1:%d/metrics" % (self.metrics.tcp_port,)
        response = yield Agent(reactor).request(b"GET", url)
        self.assertEqual(response.code, 200)
        self.assertTrue(response.headers.getRawHeaders(b"content-type")[0].startswith(b"text/plain"))
        body = yield readBody(response)
        samples = {}
        for family in text_string_to_metric_families(body.decode("utf-8")):
            for s in family.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return samples

    @defer.inlineCallbacks
    def online(self, uin, password=None):
        c = yield connect(self, reactor, self.server.udp_port, uin, password or PASSWORDS[uin])
        reply = yield c.login()
        if reply.command == v5.SRV_HELLO:
            yield c.contact_list([])
            yield c.wait_command(v5.SRV_END_OFFLINE_MESSAGES)
            yield c.keep_alive()
        return c

    @defer.inlineCallbacks
    def test_traffic(self):
        """Packets by command, logins by outcome, relayed messages and users online are counted."""
        a = yield self.online(ALICE)
        b = yield self.online(BOB)
        yield self.online(ALICE, password=b"wrong")
        yield a.message(BOB, b"hi")
        yield b.wait_command(v5.SRV_ONLINE_MESSAGE)
        yield self.server.network.settle()
        m = yield self.scrape()
        self.assertEqual(m[("iserverd_packets_total", (("command", LOGIN), ("version", "5")))], 3)
        self.assertEqual(m[("iserverd_handler_seconds_count", (("command", LOGIN), ("version", "5")))], 3)
        self.assertEqual(m[("iserverd_logins_total", (("outcome", "ok"),))], 2)
        self.assertEqual(m[("iserverd_logins_total", (("outcome", "bad_password"),))], 1)
        self.assertEqual(m[("iserverd_messages_total", (("outcome", "relayed"),))], 1)
        self.assertEqual(m[("iserverd_online_users", (("version", "5"),))], 2)
        self.assertEqual(m[("iserverd_packets_received_total", ())], self.server.protocol.counters["in"])
        self.assertEqual(m[("iserverd_packets_sent_total", ())], self.server.protocol.counters["out"])
        self.assertGreater(m[("iserverd_db_seconds_count", (("kind", "interaction"),))], 0)
        self.assertGreater(m[("iserverd_db_seconds_count", (("kind", "query"),))], 0)
        self.assertEqual(m[("iserverd_db_pool_connections", (("state", "in_use"),))]
                         + m[("iserverd_db_pool_connections", (("state", "idle"),))], 2)
        self.assertEqual(m[("iserverd_busy_replies_total", ())], 0)

    @defer.inlineCallbacks
    def test_unknown_command_label(self):
        """A command the handler table does not know is counted as 'unknown', not by its value."""
        a = yield self.online(ALICE)
        a.raw(0x7777, b"")
        yield a.keep_alive()
        m = yield self.scrape()
        self.assertGreaterEqual(m[("iserverd_packets_total", (("command", "unknown"), ("version", "5")))], 1)
        self.assertNotIn(("iserverd_packets_total", (("command", "0x7777"), ("version", "5"))), m)

    @defer.inlineCallbacks
    def test_resends_and_expiries(self):
        """Resends, a session given up for unacknowledged packets and a keep-alive expiry are counted."""
        a = yield self.online(ALICE)
        b = yield self.online(BOB)
        b.auto_ack = False
        yield a.message(BOB, b"are you there?")
        yield b.wait_command(v5.SRV_ONLINE_MESSAGE)
        for _ in range(62):
            self.clock.advance(1)
            yield a.keep_alive()
        for _ in range(125):
            self.clock.advance(1)
        m = yield self.scrape()
        self.assertGreaterEqual(m[("iserverd_resends_total", ())], 5)
        self.assertEqual(m[("iserverd_sessions_ended_total", (("reason", "unacknowledged"),))], 1)
        self.assertEqual(m[("iserverd_sessions_ended_total", (("reason", "keepalive_timeout"),))], 1)
        self.assertEqual(m[("iserverd_messages_total", (("outcome", "stored"),))], 1)

    @defer.inlineCallbacks
    def test_busy_replies(self):
        """BUSY replies are read from the busy gate's counter."""
        self.server.protocol.gate = _Gate(busy=42)
        m = yield self.scrape()
        self.assertEqual(m[("iserverd_busy_replies_total", ())], 42)

    @defer.inlineCallbacks
    def test_stop_removes_hooks(self):
        """Stopping the service removes every hook it installed and closes the port."""
        pool = self.server.storage.pool
        self.assertIsNotNone(self.server.storage.meter)
        yield self.metrics.stopService()
        self.assertIsNone(self.server.protocol.meter)
        self.assertIsNone(self.server.storage.meter)
        self.assertNotIn("login", vars(self.server.network))
        for name in ("runQuery", "runOperation", "runInteraction"):
            self.assertNotIn(name, vars(pool))
        self.assertIsNone(self.metrics.tcp_port)
        yield self.online(ALICE)


class PacketMeterTests(unittest.TestCase):
    """
    The transport's meter counts packets and times handlers with the timer it is given.
    """

    def setUp(self):
        self.timer = _Timer()
        self.histogram = Histogram("h_seconds", "test", ["version", "command"], buckets=(0.001, 0.01),
                                   registry=CollectorRegistry())
        self.meter = PacketMeter(self.histogram, self.timer)

    def value(self, name, **labels):
        for family in self.histogram.collect():
            for s in family.samples:
                if s.name == name and s.labels == labels:
                    return s.value
        return None

    def test_latency(self):
        """A handler that takes 5 ms lands in the 10 ms bucket, and its result passes through."""
        done = self.meter(5, 0x03E8, True)
        self.timer.now += 0.005
        self.assertEqual(done("result"), "result")
        self.assertEqual(self.value("h_seconds_bucket", version="5", command=LOGIN, le="0.001"), 0)
        self.assertEqual(self.value("h_seconds_bucket", version="5", command=LOGIN, le="0.01"), 1)
        self.assertAlmostEqual(self.value("h_seconds_sum", version="5", command=LOGIN), 0.005)
        self.assertEqual(self.meter.counts[(5, LOGIN)], 1)

    def test_unknown(self):
        """Unknown commands share one label."""
        self.meter(5, 0x1234, False)(None)
        self.meter(5, 0x4321, False)(None)
        self.assertEqual(dict(self.meter.counts), {(5, "unknown"): 2})


class MetricsOptionTests(unittest.TestCase):
    """
    The endpoint is off unless a port is configured.
    """

    def test_option(self):
        """--metrics-port sets metrics_port; the default is 0 (off) on 127.0.0.1."""
        options = tap.ServerOptions()
        options.parseOptions([])
        self.assertEqual((options["settings"].metrics_port, options["settings"].metrics_interface), (0, "127.0.0.1"))
        options = tap.ServerOptions()
        options.parseOptions(["--metrics-port", "9108"])
        self.assertEqual(options["settings"].metrics_port, 9108)
