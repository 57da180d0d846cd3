"""
The server side of the benchmarks, run by bench/run.py in its own process.

    python bench/server.py iserverd --dsn DSN [--set name=value ...]
    python bench/server.py echo

Either mode binds UDP on 127.0.0.1 (an ephemeral port), prints one line
"READY <port>" and serves until SIGTERM; then it prints one line of JSON
with its counters and exits.  C{iserverd} is the real server
(L{ServerService} on the global reactor; C{--no-gate} takes its busy gate
out); C{echo} is the bare
Twisted DatagramProtocol that answers every datagram with itself, the
ceiling the real server is compared with.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet import reactor  # noqa: E402
from twisted.internet.protocol import DatagramProtocol  # noqa: E402
from twisted.logger import (  # noqa: E402
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
    textFileLogObserver,
)


class Echo(DatagramProtocol):
    def __init__(self):
        self.count = 0

    def datagramReceived(self, datagram, addr):
        self.count += 1
        self.transport.write(datagram, addr)


def log_to_stderr(level):
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.levelWithName(level))
    globalLogBeginner.beginLoggingTo(
        [FilteringLogObserver(textFileLogObserver(sys.stderr), [predicate])], redirectStandardIO=False
    )


def parse_settings(pairs):
    from iserverd import config

    values = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        values[name] = config.parse_value(name, text)
    return values


def run_iserverd(args):
    from iserverd import config
    from iserverd.services.server import ServerService

    values = dict(database=args.dsn, port=0, interface="127.0.0.1", db_pool_size=args.pool)
    values.update(parse_settings(args.set))
    cfg = config.load(None, values)
    server = ServerService(cfg, reactor, on_fatal=reactor.stop)
    state = {}

    def started(_):
        if args.no_gate:
            server.protocol.gate = None
        state["server"] = server
        print("READY %d" % server.udp_port, flush=True)

    def stats():
        out = {"transport": server.protocol.counters, "network": server.network.counters if server.network else {}}
        gate = server.protocol.gate
        if gate is not None:
            out["gate"] = dict(gate.counters, sources=len(gate.sources), evicted=gate.sources.evicted)
        if server.network is not None:
            out["online"] = len(server.network.sessions)
            out["commits"] = {
                name: {"batches": b.batches, "items": b.written}
                for name, b in (("log", server.network.relay_log), ("done", server.network.relay_done),
                                ("offline", server.network.relay_offline)) if b is not None
            }
            if server.network.throttle is not None:
                out["throttle_refused"] = server.network.throttle.refused
        return out

    server.startService()
    server.ready.addCallback(started)
    return server, stats


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["iserverd", "echo"])
    parser.add_argument("--dsn")
    parser.add_argument("--pool", type=int, default=4)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--no-gate", action="store_true")
    parser.add_argument("--log-level", default="warn")
    args = parser.parse_args()
    log_to_stderr(args.log_level)

    if args.mode == "echo":
        echo = Echo()
        port = reactor.listenUDP(0, echo, interface="127.0.0.1")
        print("READY %d" % port.getHost().port, flush=True)
        stats = lambda: {"echoed": echo.count}  # noqa: E731
        server = None
    else:
        server, stats = run_iserverd(args)

    def stop():
        # Twisted turns SIGTERM into a reactor shutdown; report, then stop cleanly.
        print(json.dumps(stats()), flush=True)
        if server is not None and server.running:
            return server.stopService()
        return None

    reactor.addSystemEventTrigger("before", "shutdown", stop)
    reactor.run()


if __name__ == "__main__":
    main()
