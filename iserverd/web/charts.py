# -*- test-case-name: tests.test_web_pages -*-
"""
Line charts of the last 24 hours as SVG, drawn here from the samples, so the
dashboard needs no chart service and no script to draw.  Pure functions: a
list of C{(time, value)} in, bytes out.  The colours follow the browser's
light or dark scheme.
"""

from iserverd.web.layout import escape

WIDTH, HEIGHT = 480, 200
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 24
SPAN = 24 * 3600.0

STYLE = """
text { font: 12px system-ui, sans-serif; fill: #5d6b7e; }
.grid { stroke: #e6eaf0; stroke-width: 1; }
.line { fill: none; stroke: #2f7d32; stroke-width: 2; stroke-linejoin: round; }
.area { fill: rgba(47, 125, 50, 0.15); stroke: none; }
.line.b { stroke: #c2571a; } .area.b { fill: rgba(194, 87, 26, 0.12); }
@media (prefers-color-scheme: dark) {
  text { fill: #98a5b5; } .grid { stroke: #2a3441; }
  .line { stroke: #66bb6a; } .area { fill: rgba(102, 187, 106, 0.18); }
  .line.b { stroke: #ff9e66; } .area.b { fill: rgba(255, 158, 102, 0.14); }
}
"""


def nice_ceiling(value):
    """The axis top: 1, 2 or 5 times a power of ten, at least C{value} (and at least 1)."""
    if value <= 1:
        return 1
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def _label(value):
    if value >= 10000:
        return "%dk" % (value // 1000,)
    if value == int(value):
        return "%d" % (value,)
    return "%.1f" % (value,)


def line_chart(series, now, title, span=SPAN, width=WIDTH, height=HEIGHT):
    """
    @param series: up to two lists of C{(time, value)}, oldest first; values
        may be L{None} (a gap).
    @param now: the right edge's time; the chart shows C{span} seconds before it.
    @return: a standalone SVG document (bytes).
    """
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    start = now - span
    highest = max([v for points in series for t, v in points if v is not None and t >= start] or [0])
    top = nice_ceiling(highest)

    def x(t):
        return LEFT + (t - start) / span * plot_w

    def y(v):
        return TOP + plot_h - v / top * plot_h

    parts = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img">'
             % (width, height, width, height),
             "<title>%s</title><style>%s</style>" % (escape(title), STYLE)]
    for i in range(5):
        value = top * i / 4
        parts.append('<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>'
                     % (LEFT, width - RIGHT, y(value), y(value)))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (LEFT - 6, y(value) + 4, _label(value)))
    for hours in (24, 18, 12, 6, 0):
        label = "now" if hours == 0 else "-%dh" % (hours,)
        anchor = "end" if hours == 0 else ("start" if hours == 24 else "middle")
        parts.append('<text x="%.1f" y="%d" text-anchor="%s">%s</text>'
                     % (x(now - hours * 3600), height - 8, anchor, label))
    for index, points in enumerate(series):
        kind = "" if index == 0 else " b"
        runs, run = [], []
        for t, v in points:
            if t < start:
                continue
            if v is None:
                if run:
                    runs.append(run)
                run = []
                continue
            run.append((x(t), y(min(v, top))))
        if run:
            runs.append(run)
        for run in runs:
            line = " ".join("%.1f,%.1f" % p for p in run)
            if len(run) > 1:
                base = TOP + plot_h
                area = "%.1f,%.1f %s %.1f,%.1f" % (run[0][0], base, line, run[-1][0], base)
                parts.append('<polygon class="area%s" points="%s"/>' % (kind, area))
                parts.append('<polyline class="line%s" points="%s"/>' % (kind, line))
            else:
                parts.append('<circle class="line%s" cx="%.1f" cy="%.1f" r="2"/>' % (kind, run[0][0], run[0][1]))
    parts.append("</svg>\n")
    return "".join(parts).encode("utf-8")
