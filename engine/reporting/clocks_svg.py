"""A complaint's SLA clocks drawn as bars on one time axis, as inline SVG (no script, no
request to any other host). Each row: the budget from arming to the due time as a pale
track, the time the clock ran over it (green when met in time, amber once warned, red once
breached, blue while running), hatched stretches where it stood paused, and ticks for the
warning and the breach."""

from datetime import datetime, tzinfo
from html import escape

from complaintflow.engine.reporting.clocks import Clock

LABEL_W, ROW_H, PLOT_W, AXIS_H = 190, 28, 640, 30
COLOURS = {
    "met": "#2f9e6b",
    "running": "#3b6fd8",
    "warned": "#d97706",
    "breached": "#c81e1e",
    "paused": "#6b7280",
}


def _label(name: str) -> str:
    """first_response -> "first response"; collaboration.tech -> "collaboration (tech)"."""
    kind, _, department = name.partition(".")
    words = kind.replace("_", " ")
    return f"{words} ({department})" if department else words


def clocks_svg(clocks: list[Clock], now: datetime, tz: tzinfo) -> str:
    """The clocks on one axis from the first arming to the last due time, end or now;
    times written in `tz` (the business calendar's)."""
    if not clocks:
        return '<p class="muted">No SLA clock has been armed.</p>'
    first = min(c.start for c in clocks)
    moments = [now, *(c.due for c in clocks if c.due), *(c.end for c in clocks if c.end)]
    last = max(m for m in moments if m is not None)
    span = max((last - first).total_seconds(), 60.0)

    def x(moment: datetime) -> float:
        return LABEL_W + PLOT_W * (moment - first).total_seconds() / span

    rows: list[str] = []
    for i, clock in enumerate(clocks):
        y = AXIS_H + i * ROW_H
        stop = clock.end or now
        rows.append(
            f'<text x="{LABEL_W - 8}" y="{y + 17}" text-anchor="end">{escape(_label(clock.name))}'
            "</text>"
        )
        if clock.due is not None:
            rows.append(_rect("budget", x(clock.start), y + 6, x(clock.due), 16, "#dde2ea"))
        rows.append(
            _rect(
                f"clock {clock.status}", x(clock.start), y + 9, x(stop), 10, COLOURS[clock.status]
            )
        )
        for paused_from, paused_to in clock.pauses:
            rows.append(
                _rect("paused", x(paused_from), y + 9, x(paused_to or now), 10, "url(#hatch)")
            )
        for mark, moment, colour in (
            ("warned", clock.warned_at, COLOURS["warned"]),
            ("breached", clock.breached_at, COLOURS["breached"]),
        ):
            if moment is not None:
                rows.append(
                    f'<line class="{mark}" x1="{x(moment):.1f}" x2="{x(moment):.1f}" '
                    f'y1="{y + 3}" y2="{y + 25}" stroke="{colour}" stroke-width="2"/>'
                )
    height = AXIS_H + len(clocks) * ROW_H + 8
    axis = (
        f'<text x="{LABEL_W}" y="14" class="muted">{first.astimezone(tz):%Y-%m-%d %H:%M}</text>'
        f'<text x="{LABEL_W + PLOT_W}" y="14" text-anchor="end" class="muted">'
        f"{last.astimezone(tz):%Y-%m-%d %H:%M}</text>"
        f'<line x1="{x(now):.1f}" x2="{x(now):.1f}" y1="18" y2="{height}" stroke="#1d2433" '
        'stroke-dasharray="3 3"/>'
    )
    return (
        f'<svg id="clocks" class="chart" role="img" width="{LABEL_W + PLOT_W + 20}" '
        f'height="{height}" viewBox="0 0 {LABEL_W + PLOT_W + 20} {height}" '
        'font-size="12" xmlns="http://www.w3.org/2000/svg"><title>SLA clocks</title>'
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#e5e7eb"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#6b7280" stroke-width="2"/></pattern></defs>'
        f"{axis}{''.join(rows)}</svg>"
    )


def _rect(css: str, x1: float, y: float, x2: float, h: float, fill: str) -> str:
    return (
        f'<rect class="{css}" x="{x1:.1f}" y="{y}" width="{max(x2 - x1, 2):.1f}" height="{h}" '
        f'fill="{fill}"/>'
    )
