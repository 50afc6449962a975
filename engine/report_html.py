"""The KPI report as one self-contained HTML file: inline CSS, inline SVG charts, no scripts,
no external references, so it can be mailed, archived or opened offline. Pure."""

from html import escape

from complaintflow.engine import report_format as fmt
from complaintflow.engine.kpi import Count, KpiReport
from complaintflow.engine.report_svg import Bar, bar_chart, column_chart

TOP_AGENTS = 10
CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1d2433; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 1.5rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { padding: .25rem .75rem; border-bottom: 1px solid #dde2ea; text-align: right;
         white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
.chart { display: block; max-width: 100%; height: auto; }
.chart .bar { fill: #3b6fd8; } .chart .bar.good { fill: #2f9e6b; }
.chart .target { stroke: #c2410c; stroke-width: 2; }
.muted { color: #6b7280; }
"""


def _table(header: list[str], rows: list[list[str]], css_id: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table id="{css_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _count_rows(counts: dict[str, Count]) -> list[list[str]]:
    return [[name, *fmt.counted(c)] for name, c in counts.items()]


def _count_bars(counts: dict[str, Count]) -> list[Bar]:
    return [Bar(name, c.count, f"{c.count} ({fmt.share(c.share)})") for name, c in counts.items()]


def _section(title: str, *parts: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{''.join(parts)}</section>"


def _headline_rows(report: KpiReport) -> list[list[str]]:
    return [[figure, value] for figure, value in fmt.headline(report)]


def render_html(report: KpiReport) -> str:
    fr = report.first_response
    sections = [
        _section("Overview", _table(["figure", "value"], _headline_rows(report), "overview")),
        '<div class="grid">',
        _volume(report),
        _first_response(report),
        _departments(report),
        _escalations(report),
        _section(
            "Complaints received per day",
            column_chart(
                "chart-daily",
                "Complaints received per day",
                [Bar(d.isoformat(), n, str(n)) for d, n in report.volume.by_day.items()],
            ),
        ),
        _satisfaction(report),
        "</div>",
        _agents(report),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>complaintflow KPI report</title><style>{CSS}</style></head><body>"
        f'<h1>complaintflow KPI report</h1><p class="muted">{escape(fmt.period(report))}; '
        f"first-response target {escape(fmt.duration(fr.target_s))}</p>"
        f"{''.join(sections)}</body></html>\n"
    )


def _volume(report: KpiReport) -> str:
    rows = []
    for name, c in report.volume.by_category.items():
        h = report.handling.by_category.get(name)
        rows.append(
            [
                name,
                *fmt.counted(c),
                fmt.duration(h.mean_s if h else None),
                fmt.duration(h.max_s if h else None),
            ]
        )
    return _section(
        "Volume by category",
        bar_chart("chart-volume", "Complaints by category", _count_bars(report.volume.by_category)),
        _table(["category", "count", "share", "handling mean", "handling max"], rows, "categories"),
        _table(["channel", "count", "share"], _count_rows(report.volume.by_channel), "channels"),
    )


def _first_response(report: KpiReport) -> str:
    fr = report.first_response
    edges = [b.from_s for b in fr.histogram]
    on_target = edges.index(fr.target_s) if fr.target_s in edges else None
    columns = [
        Bar(
            f"<{fmt.duration(b.to_s)}" if b.to_s is not None else f">={fmt.duration(b.from_s)}",
            b.complaints,
            str(b.complaints),
        )
        for b in fr.histogram
    ]
    summary = [
        ["responded", str(fr.responded)],
        ["mean", fmt.duration(fr.mean_s)],
        ["p50", fmt.duration(fr.p50_s)],
        ["p90", fmt.duration(fr.p90_s)],
        [f"within {fmt.duration(fr.target_s)}", fmt.share(fr.within_target_share)],
    ]
    return _section(
        "First-response time",
        column_chart("chart-first-response", "First-response times", columns, on_target),
        _table(["first response", "value"], summary, "first-response"),
    )


def _departments(report: KpiReport) -> str:
    rows, bars = [], []
    for name, d in report.departments.items():
        slowest = " (slowest)" if name == report.slowest_department else ""
        rows.append(
            [
                name + slowest,
                str(d.requests),
                str(d.answered),
                fmt.duration(d.mean_s),
                fmt.duration(d.p90_s),
                fmt.share(d.within_sla_share),
            ]
        )
        text = f"mean {fmt.duration(d.mean_s)}, {fmt.share(d.within_sla_share)} in SLA"
        bars.append(Bar(name, d.mean_s or 0, text))
    return _section(
        "Department collaboration latency",
        bar_chart("chart-departments", "Mean request-to-reply latency by department", bars),
        _table(
            ["department", "requests", "answered", "mean", "p90", "within SLA"], rows, "departments"
        ),
    )


def _escalations(report: KpiReport) -> str:
    e = report.escalations
    return _section(
        f"Escalations ({e.total})",
        bar_chart("chart-escalation-causes", "Escalations by cause", _count_bars(e.by_cause)),
        _table(["cause", "count", "share"], _count_rows(e.by_cause), "escalation-causes"),
        _table(["level", "count", "share"], _count_rows(e.by_level), "escalation-levels"),
    )


def _satisfaction(report: KpiReport) -> str:
    rows = [[str(score), str(n)] for score, n in report.csat.distribution.items()]
    return _section(
        f"CSAT (mean {fmt.score(report.csat.mean)}) and NPS ({fmt.nps(report.nps)})",
        _table(["CSAT score", "answers"], rows, "csat"),
    )


def _agents(report: KpiReport) -> str:
    a = report.agents
    shown = list(a.by_agent.items())[:TOP_AGENTS]
    rows = [[agent, str(n)] for agent, n in shown]
    more = a.total - len(shown)
    note = f'<p class="muted">and {more} more (the JSON report lists all)</p>' if more else ""
    return _section(
        f"Complaints per agent ({a.total} agents, mean {fmt.score(a.mean_complaints)})",
        _table(["agent", "complaints"], rows, "agents"),
        note,
    )
