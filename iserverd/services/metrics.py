# -*- test-case-name: tests.test_metrics -*-
"""
A Prometheus endpoint (C{/metrics}) for a running server.

Most figures are counters the server keeps anyway (the transport's packets,
the network's logins by outcome and messages, the resend queue); a collector
reads them when Prometheus scrapes, so they cost nothing on the packet path.
Latencies are measured through the two meter hooks the server offers, which
this service sets while it runs and clears when it stops:

  - the transport's C{meter}: packets by version and command, and how long
    each handler took (up to the end of its Deferred chain);
  - the storage's C{meter}: database latency of queries, operations and
    interactions, including the wait for a free connection.

Command labels are the handler table's commands; any other command value is
counted as C{unknown}, so a client cannot create label values at will.

The endpoint binds to 127.0.0.1 by default (C{Metrics interface}) and is off
unless C{Metrics port} is set.
"""

import collections
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from twisted.application import service
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Site

# Seconds; ICQ handlers are mostly sub-millisecond, database round trips a few ms.
HANDLER_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
DATABASE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _label(outcome):
    return str(outcome).replace(" ", "_")


class PacketMeter:
    """
    The transport's C{meter}: counts decoded packets by (version, command) and
    observes each handler's duration.

    @ivar counts: C{(version, command label)} to packets.
    """

    def __init__(self, histogram, timer):
        self.histogram = histogram
        self.timer = timer
        self.counts = collections.Counter()
        self._children = {}

    def __call__(self, version, command, known):
        key = (version, "0x%04x" % (command,) if known else "unknown")
        self.counts[key] += 1
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.histogram.labels(str(version), key[1])
        started = self.timer()

        def done(result):
            child.observe(self.timer() - started)
            return result

        return done


class DatabaseMeter:
    """
    The storage's C{meter}: observes each database call's duration by kind.
    """

    def __init__(self, histogram, timer):
        self.timer = timer
        self._children = {kind: histogram.labels(kind) for kind in ("query", "operation", "interaction")}

    def __call__(self, kind):
        child = self._children[kind]
        started = self.timer()

        def done(result):
            child.observe(self.timer() - started)
            return result

        return done


class ServerCollector:
    """
    Reads the running server's counters at scrape time.
    """

    def __init__(self, server, meter, started_at):
        self.server = server
        self.meter = meter
        self.started_at = started_at

    def collect(self):
        server = self.server
        protocol = server.protocol
        network = server.network
        counters = protocol.counters

        def counter(name, doc, value):
            return CounterMetricFamily(name, doc, value=value)

        yield GaugeMetricFamily("iserverd_start_time_seconds", "When the server started (Unix time).",
                                value=self.started_at)
        yield counter("iserverd_packets_received", "Datagrams received.", counters.get("in", 0))
        yield counter("iserverd_packets_sent", "Datagrams sent (resends included).", counters.get("out", 0))
        yield counter("iserverd_packets_malformed", "Datagrams dropped as malformed.", counters.get("malformed", 0))
        yield counter("iserverd_packets_refused", "Datagrams refused by the busy gate.", counters.get("refused", 0))
        yield counter("iserverd_handler_errors", "Packets whose handler failed.", counters.get("errors", 0))
        gate = getattr(protocol, "gate", None)
        yield counter("iserverd_busy_replies", "BUSY replies sent under overload.",
                      getattr(gate, "counters", {}).get("busy", 0))
        packets = CounterMetricFamily("iserverd_packets", "Decoded packets by protocol version and command.",
                                      labels=["version", "command"])
        for (version, command), count in sorted(self.meter.counts.items()):
            packets.add_metric([str(version), command], count)
        yield packets
        logins = CounterMetricFamily("iserverd_logins", "Login attempts by outcome.", labels=["outcome"])
        for outcome, count in sorted(network.logins.items() if network is not None else ()):
            logins.add_metric([_label(outcome)], count)
        yield logins
        if network is None:
            return
        net = network.counters
        messages = CounterMetricFamily("iserverd_messages", "Messages by what became of them.", labels=["outcome"])
        messages.add_metric(["relayed"], net.get("relayed", 0))
        messages.add_metric(["stored"], net.get("stored", 0))
        messages.add_metric(["dropped"], net.get("dropped_messages", 0))
        yield messages
        yield counter("iserverd_resends", "Reliable packets sent again.", net.get("resends", 0))
        expired = CounterMetricFamily("iserverd_sessions_ended", "Sessions the server ended by itself.",
                                      labels=["reason"])
        expired.add_metric(["keepalive_timeout"], net.get("expired", 0))
        expired.add_metric(["unacknowledged"], network.queue.expired)
        yield expired
        online = GaugeMetricFamily("iserverd_online_users", "Users online by protocol version.", labels=["version"])
        by_version = collections.Counter(s.version for s in network.sessions if s.active)
        for version, count in sorted(by_version.items()):
            online.add_metric([str(version)], count)
        yield online
        yield GaugeMetricFamily("iserverd_unacked_packets", "Reliable packets waiting for an ACK.",
                                value=sum(len(s.pending) for s in network.queue.busy))
        pool = getattr(server.storage, "pool", None)
        semaphore = getattr(pool, "_semaphore", None)
        if semaphore is not None:
            state = GaugeMetricFamily("iserverd_db_pool_connections", "Database connections by state.",
                                      labels=["state"])
            state.add_metric(["idle"], len(pool.connections))
            state.add_metric(["in_use"], semaphore.limit - semaphore.tokens)
            yield state
            yield GaugeMetricFamily("iserverd_db_pool_waiting", "Database requests waiting for a connection.",
                                    value=len(semaphore.waiting))


class MetricsResource(Resource):
    """
    Renders the registry in the Prometheus text format, in the reactor thread
    (the counters it reads are only changed there).
    """

    isLeaf = True

    def __init__(self, registry):
        Resource.__init__(self)
        self.registry = registry

    def render_GET(self, request):
        request.setHeader(b"Content-Type", CONTENT_TYPE_LATEST.encode("ascii"))
        return generate_latest(self.registry)


class MetricsService(service.Service):
    """
    Sets the meter hooks and serves C{/metrics} while the server runs.

    @ivar registry: this server's own L{CollectorRegistry} (not the global one,
        so that several servers in one process do not mix).
    @ivar port: the listening TCP port once started.
    """

    log = Logger()

    def __init__(self, server, port=None, interface=None, timer=time.perf_counter, reactor=None):
        """
        @param server: the ready L{iserverd.services.server.ServerService}.
        @param port: TCP port (default C{Metrics port}; 0 here means any free one).
        @param timer: a monotonic clock in seconds for latencies (tests pass their own).
        """
        self.server = server
        self.port_number = server.config.metrics_port if port is None else port
        self.interface = server.config.metrics_interface if interface is None else interface
        self.timer = timer
        self.reactor = server.reactor if reactor is None else reactor
        self.registry = CollectorRegistry(auto_describe=False)
        self.handler_seconds = Histogram(
            "iserverd_handler_seconds", "Time from a decoded packet to the end of its handler.",
            ["version", "command"], buckets=HANDLER_BUCKETS, registry=self.registry,
        )
        self.database_seconds = Histogram(
            "iserverd_db_seconds", "Database calls, including the wait for a pooled connection.",
            ["kind"], buckets=DATABASE_BUCKETS, registry=self.registry,
        )
        self.meter = PacketMeter(self.handler_seconds, timer)
        self.database_meter = DatabaseMeter(self.database_seconds, timer)
        self.collector = ServerCollector(server, self.meter, server.clock.seconds())
        self.registry.register(self.collector)
        self.port = None
        self._undo = []

    def startService(self):
        self._install()
        root = Resource()
        root.putChild(b"metrics", MetricsResource(self.registry))
        site = Site(root)
        site.noisy = False
        try:
            self.port = self.reactor.listenTCP(self.port_number, site, interface=self.interface)
        except Exception:
            self._uninstall()
            raise
        service.Service.startService(self)
        host = self.port.getHost()
        self.log.info("metrics at http://{host}:{port}/metrics", host=host.host, port=host.port)

    def stopService(self):
        service.Service.stopService(self)
        self._uninstall()
        if self.port is not None:
            port, self.port = self.port, None
            return port.stopListening()
        return None

    @property
    def tcp_port(self):
        """The bound TCP port number (useful with port 0)."""
        return self.port.getHost().port if self.port is not None else None

    # --- hooks -----------------------------------------------------------------

    def _install(self):
        protocol = self.server.protocol
        protocol.meter = self.meter
        self._undo.append(lambda: setattr(protocol, "meter", None))
        storage = self.server.storage
        if storage is not None and hasattr(storage, "meter"):
            storage.meter = self.database_meter
            self._undo.append(lambda: setattr(storage, "meter", None))

    def _uninstall(self):
        while self._undo:
            self._undo.pop()()
