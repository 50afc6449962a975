"""Inline SVG charts drawn in Python, so the HTML report is one file that needs no network,
no CDN and no JavaScript to show its charts. Pure string building; labels are escaped."""

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 640
ROW = 26
LABEL_W = 170
BAR_AREA = 250
COLUMN_H = 180
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str


def _svg(chart_id: str, title: str, width: int, height: int, body: list[str]) -> str:
    return (
        f'<svg class="chart" id="{escape(chart_id)}" role="img" aria-label="{escape(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _no_data(chart_id: str, title: str) -> str:
    text = f'<text x="{WIDTH / 2}" y="30" text-anchor="middle" {FONT}>no data</text>'
    return _svg(chart_id, title, WIDTH, 50, [text])


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar]) -> str:
    """Horizontal bars, longest = full width; each labelled left and annotated right."""
    if not bars:
        return _no_data(chart_id, title)
    top = max(bar.value for bar in bars) or 1
    body = []
    for index, bar in enumerate(bars):
        y = index * ROW + 4
        length = max(bar.value / top * BAR_AREA, 1)
        body.append(
            f'<text x="{LABEL_W - 8}" y="{y + 14}" text-anchor="end" {FONT}>'
            f"{escape(bar.label)}</text>"
            f'<rect class="bar" x="{LABEL_W}" y="{y}" width="{length:.1f}" height="{ROW - 8}" '
            f'rx="2"><title>{escape(bar.label)}: {escape(bar.text)}</title></rect>'
            f'<text x="{LABEL_W + length + 6:.1f}" y="{y + 14}" {FONT}>{escape(bar.text)}</text>'
        )
    return _svg(chart_id, title, WIDTH, len(bars) * ROW + 8, body)


def column_chart(
    chart_id: str, title: str, columns: Sequence[Bar], marked_until: int | None = None
) -> str:
    """Vertical columns with their label below and value above; columns before index
    `marked_until` are drawn as "on target" and a dashed line marks the boundary."""
    if not columns:
        return _no_data(chart_id, title)
    pitch = max(min(WIDTH // len(columns), 90), 18)
    width = max(WIDTH, pitch * len(columns) + 20)
    top = max(c.value for c in columns) or 1
    base = COLUMN_H + 20
    body = []
    for index, column in enumerate(columns):
        x = 10 + index * pitch
        height = max(column.value / top * COLUMN_H, 1)
        css = "bar good" if marked_until is not None and index < marked_until else "bar"
        body.append(
            f'<rect class="{css}" x="{x + 4}" y="{base - height:.1f}" width="{pitch - 8}" '
            f'height="{height:.1f}"><title>{escape(column.label)}: {escape(column.text)}</title>'
            f'</rect><text x="{x + pitch / 2}" y="{base - height - 4:.1f}" text-anchor="middle" '
            f"{FONT}>{escape(column.text)}</text>"
            f'<text x="{x + pitch / 2}" y="{base + 16}" text-anchor="middle" {FONT}>'
            f"{escape(column.label)}</text>"
        )
    if marked_until is not None:
        x = 10 + marked_until * pitch
        body.append(
            f'<line class="target" x1="{x}" y1="10" x2="{x}" y2="{base}" stroke-dasharray="4 3"/>'
        )
    return _svg(chart_id, title, width, base + 26, body)
