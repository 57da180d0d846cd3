# -*- test-case-name: tests.test_web_pages -*-
"""
C{/server}: the operator's dashboard.  Users online, logins and messages per
minute, the protocol mix, busy and throttled counts, the database's health,
and charts of the last 24 hours.

L{ServerStats} samples the counters the server keeps anyway once a minute
into a ring of 1,440 samples (24 hours, a few hundred kilobytes at most);
nothing is written to the database.  The page's small script re-reads
C{server.json} and the charts every 30 seconds, so it stays current without
a reload.
"""

import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Optional

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource

from iserverd import __version__
from iserverd.web.charts import HEIGHT, WIDTH, line_chart
from iserverd.web.layout import escape, json_body

PERIOD = 60.0
SAMPLES = 24 * 60


@dataclass(frozen=True)
class Sample:
    """One minute of the server: gauges at its end, counts during it."""

    at: float
    online: int
    v3: int
    v5: int
    oscar: int
    logins: int
    messages: int
    busy: int
    throttled: int
    db_ms: Optional[float]


def protocol_mix(sessions):
    """Active sessions by protocol: C{{"v3": n, "v5": n, "oscar": n}} (any other version is OSCAR)."""
    mix = {"v3": 0, "v5": 0, "oscar": 0}
    for session in sessions:
        if session.active:
            mix["v3" if session.version == 3 else "v5" if session.version == 5 else "oscar"] += 1
    return mix


class ServerStats:
    """
    The samples behind the dashboard.

    @param network: the shared L{Network} (sessions, counters, throttle).
    @param gate: the busy gate (its C{counters["busy"]}), or L{None}.
    @param probe: a callable returning a Deferred that fires when the database
        answered (C{SELECT 1}), or L{None} to leave database health unknown.
    @param timer: a monotonic clock for the probe's latency.
    """

    log = Logger()

    def __init__(self, network, clock, gate=None, probe=None, timer=time.perf_counter, period=PERIOD,
                 size=SAMPLES):
        self.network = network
        self.clock = clock
        self.gate = gate
        self.probe = probe
        self.timer = timer
        self.period = period
        self.samples = deque(maxlen=size)
        self.db_ms = None
        self.db_ok = None
        self._last = self._totals()
        self._loop = None
        self._probing = False

    def _totals(self):
        counters = self.network.counters
        throttle = getattr(self.network, "throttle", None)
        gate_counters = getattr(self.gate, "counters", {})
        return {
            "logins": counters.get("logins", 0),
            "messages": counters.get("relayed", 0) + counters.get("stored", 0),
            "busy": gate_counters.get("busy", 0),
            "throttled": getattr(throttle, "refused", 0),
        }

    def start(self):
        from twisted.internet import task
        self._loop = task.LoopingCall(self._step)
        self._loop.clock = self.clock
        self._loop.start(self.period, now=False).addErrback(
            lambda f: self.log.failure("dashboard sampler stopped", f))
        self.check_database()

    def stop(self):
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def _step(self):
        try:
            self.sample()
            self.check_database()
        except Exception:
            self.log.failure("dashboard sample failed")

    def check_database(self):
        """
        Time a trivial query; its result shows as the database's health.  A
        probe still unanswered at the next one marks the database unavailable.
        """
        if self.probe is None:
            return None
        if self._probing:
            self.db_ok, self.db_ms = False, None
            return None
        self._probing = True
        started = self.timer()

        def answered(_):
            self.db_ok, self.db_ms = True, (self.timer() - started) * 1000.0

        def failed(_):
            self.db_ok, self.db_ms = False, None

        def done(_):
            self._probing = False

        d = defer.maybeDeferred(self.probe)
        return d.addCallbacks(answered, failed).addBoth(done)

    def sample(self):
        """Take one sample now (the loop does, once a C{period})."""
        totals = self._totals()
        delta = {k: max(0, totals[k] - self._last[k]) for k in totals}
        self._last = totals
        mix = protocol_mix(self.network.sessions)
        sample = Sample(at=self.clock.seconds(), online=sum(mix.values()), logins=delta["logins"],
                        messages=delta["messages"], busy=delta["busy"], throttled=delta["throttled"],
                        db_ms=self.db_ms if self.db_ok else None, **mix)
        self.samples.append(sample)
        return sample

    def figures(self, started_at):
        """What the dashboard shows now (also C{/server.json})."""
        mix = protocol_mix(self.network.sessions)
        last = self.samples[-1] if self.samples else None
        day = list(self.samples)
        uptime = int(self.clock.seconds() - started_at)
        return {
            "online": len(self.network.sessions),
            "uptime": uptime,
            "uptime_text": duration(uptime),
            "version": __version__,
            "v3": mix["v3"], "v5": mix["v5"], "oscar": mix["oscar"],
            "logins_per_minute": last.logins if last else 0,
            "messages_per_minute": last.messages if last else 0,
            "logins_24h": sum(s.logins for s in day),
            "messages_24h": sum(s.messages for s in day),
            "busy_24h": sum(s.busy for s in day),
            "throttled_24h": sum(s.throttled for s in day),
            "database": "unknown" if self.db_ok is None else "ok" if self.db_ok else "unavailable",
            "database_ms": None if self.db_ms is None else round(self.db_ms, 1),
            "samples": len(day),
        }


def duration(seconds):
    """C{90061} -> C{"1 day, 01:01:01"}."""
    days, rest = divmod(int(seconds), 86400)
    clock = "%02d:%02d:%02d" % (rest // 3600, rest // 60 % 60, rest % 60)
    if days:
        return "%d day%s, %s" % (days, "" if days == 1 else "s", clock)
    return clock


# Chart name -> (title, the sample fields drawn)
CHARTS = {
    "online": ("Users online", ("online",)),
    "logins": ("Logins per minute", ("logins",)),
    "messages": ("Messages per minute", ("messages",)),
    "refused": ("Refused per minute", ("busy", "throttled")),
}
LEGENDS = {"refused": ("busy replies", "throttled logins")}


class Dashboard(resource.Resource):
    """C{/server} (the page), C{/server/NAME.svg} (its charts)."""

    def __init__(self, stats, clock, started_at, layout):
        resource.Resource.__init__(self)
        self.stats = stats
        self.clock = clock
        self.started_at = started_at
        self.layout = layout

    def getChild(self, name, request):
        stem, _, kind = name.decode("latin-1").partition(".")
        if kind == "svg" and stem in CHARTS:
            return Chart(self.stats, self.clock, stem)
        if name == b"":
            return self
        return resource.NoResource()

    def render_GET(self, request):
        f = self.stats.figures(self.started_at)
        db_class = {"ok": "ok", "unavailable": "bad"}.get(f["database"], "")
        db_detail = ("%.1f ms" % f["database_ms"]) if f["database_ms"] is not None else ""

        def tile(label, value, figure, css="", ident=None):
            return ('<div class="tile"><div class="label">%s</div><div class="value%s" data-figure="%s" '
                    'id="%s">%s</div></div>' % (escape(label), " " + css if css else "", figure,
                                                ident or figure, escape(value)))

        tiles = "\n".join([
            tile("Users online", f["online"], "online"),
            tile("Logins / min", f["logins_per_minute"], "logins_per_minute"),
            tile("Messages / min", f["messages_per_minute"], "messages_per_minute"),
            tile("ICQ v5", f["v5"], "v5"),
            tile("ICQ v3", f["v3"], "v3"),
            tile("OSCAR", f["oscar"], "oscar"),
            tile("Busy replies, 24 h", f["busy_24h"], "busy_24h"),
            tile("Throttled, 24 h", f["throttled_24h"], "throttled_24h"),
            tile("Database", f["database"], "database", db_class),
            tile("Up for", f["uptime_text"], "uptime_text", ident="uptime"),
        ])
        def legend(name):
            names = LEGENDS.get(name)
            if not names:
                return ""
            return '<p class="legend"><span>%s</span><span class="b">%s</span></p>' % tuple(map(escape, names))

        charts = "\n".join(
            '<div class="card chart"><h2>%s</h2>%s<img id="chart-%s" src="server/%s.svg" data-chart="server/%s.svg" '
            'alt="%s over the last 24 hours" width="%d" height="%d"></div>'
            % (escape(title), legend(name), name, name, name, escape(title), WIDTH, HEIGHT)
            for name, (title, _) in CHARTS.items())
        body = ('<p class="lead">The last 24 hours of this server, sampled every minute. '
                'iserverd %s%s.</p>\n<div class="tiles">\n%s\n</div>\n<div class="grid charts">\n%s\n</div>'
                % (escape(f["version"]), (", database answers in " + db_detail) if db_detail else "", tiles, charts))
        return self.layout.respond(request, 200, "Server", body, current="server", script="dashboard.js")


class Chart(resource.Resource):
    isLeaf = True

    def __init__(self, stats, clock, name):
        resource.Resource.__init__(self)
        self.stats = stats
        self.clock = clock
        self.name = name

    def render_GET(self, request):
        title, fields = CHARTS[self.name]
        samples = [asdict(s) for s in self.stats.samples]
        series = [[(s["at"], s[f]) for s in samples] for f in fields]
        request.setHeader(b"content-type", b"image/svg+xml")
        request.setHeader(b"cache-control", b"no-cache, max-age=0")
        return line_chart(series, self.clock.seconds(), title)


class ServerFigures(resource.Resource):
    """C{/server.json}: the dashboard's figures."""

    isLeaf = True

    def __init__(self, stats, started_at):
        resource.Resource.__init__(self)
        self.stats = stats
        self.started_at = started_at

    def render_GET(self, request):
        return json_body(request, self.stats.figures(self.started_at), public=True)


__all__ = ["ServerStats", "Dashboard", "ServerFigures", "duration", "protocol_mix"]
