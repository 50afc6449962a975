"""The KPI report as one self-contained HTML file: inline CSS, inline SVG charts, no scripts,
no external references, so it can be mailed, archived or opened offline. Pure: charts from
`report_svg`, tables from the same rows as the text report."""

from html import escape

from complaintflow.engine.reporting import rows
from complaintflow.engine.reporting.kpi import Count, KpiReport
from complaintflow.engine.reporting.svg import Bar, bar_chart, column_chart

CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1d2433; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin: 2rem 0 .5rem; flex-basis: 100%; }
section { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 0 2rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { padding: .25rem .75rem; border-bottom: 1px solid #dde2ea; text-align: right;
         white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
.chart { display: block; max-width: 100%; height: auto; margin: .5rem 0; }
.chart .bar { fill: #3b6fd8; } .chart .bar.good { fill: #2f9e6b; }
.chart .target { stroke: #c2410c; stroke-width: 2; }
.muted { color: #6b7280; }
"""


def _table(css_id: str, header: list[str], body: rows.Rows) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    cells = ("".join(f"<td>{escape(value)}</td>" for value in row) for row in body)
    trs = "".join(f"<tr>{tr}</tr>" for tr in cells)
    return f'<table id="{css_id}"><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>'


def _section(title: str, *parts: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{''.join(parts)}</section>"


def _count_bars(counts: dict[str, Count]) -> list[Bar]:
    return [Bar(name, c.count, f"{c.count} ({rows.share(c.share)})") for name, c in counts.items()]


def report_body(report: KpiReport) -> str:
    """The report's heading, charts and tables: the file's body, and the console's page."""
    fr, e, a, v = report.first_response, report.escalations, report.agents, report.volume
    sections = [
        _section(
            "Volume by category",
            bar_chart("chart-volume", "Complaints by category", _count_bars(v.by_category)),
            _table("categories", rows.CATEGORY_HEADER, rows.categories(report)),
            _table("channels", ["channel", "count", "share"], rows.counts(v.by_channel)),
        ),
        _first_response(report),
        _section(
            "Department collaboration latency",
            bar_chart(
                "chart-departments",
                "Mean request-to-reply latency by department",
                [
                    Bar(name, d.mean_s or 0, f"mean {rows.duration(d.mean_s)}")
                    for name, d in report.departments.items()
                ],
            ),
            _table("departments", rows.DEPARTMENT_HEADER, rows.departments(report)),
        ),
        _section(
            f"Escalations ({e.total})",
            bar_chart("chart-escalation-causes", "Escalations by cause", _count_bars(e.by_cause)),
            _table("escalation-causes", ["cause", "count", "share"], rows.counts(e.by_cause)),
            _table("escalation-levels", ["level", "count", "share"], rows.counts(e.by_level)),
        ),
        _section(
            "Complaints received per day",
            column_chart(
                "chart-daily",
                "Complaints received per day",
                [Bar(d.isoformat(), n, str(n)) for d, n in v.by_day.items()],
            ),
            _table("days", ["day", "complaints"], rows.days(report)),
        ),
        _section(
            f"CSAT (mean {rows.score(report.csat.mean)}) and NPS ({rows.nps(report.nps)})",
            _table("csat", ["CSAT score", "answers"], rows.csat(report)),
        ),
    ]
    body = [
        _section("Overview", _table("overview", ["figure", "value"], rows.headline(report))),
        *sections,
        _section(
            f"Complaints per agent ({a.total} agents, mean {rows.score(a.mean_complaints)})",
            _table("agents", ["agent", "complaints"], rows.agents(report)),
        ),
    ]
    return (
        f'<h1>complaintflow KPI report</h1><p class="muted">{escape(rows.period(report))}; '
        f"first-response target {escape(rows.duration(fr.target_s))}</p>{''.join(body)}"
    )


def render_html(report: KpiReport) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>complaintflow KPI report</title><style>{CSS}</style></head><body>"
        f"{report_body(report)}</body></html>\n"
    )


def _first_response(report: KpiReport) -> str:
    """Histogram of first-response times; the bars up to the target are drawn as on target."""
    fr = report.first_response
    ends = [b.to_s for b in fr.histogram]
    on_target = ends.index(fr.target_s) + 1 if fr.target_s in ends else None
    columns = [
        Bar(
            f"≤{rows.duration(b.to_s)}" if b.to_s is not None else f">{rows.duration(b.from_s)}",
            b.complaints,
            str(b.complaints),
        )
        for b in fr.histogram
    ]
    return _section(
        "First-response time",
        column_chart("chart-first-response", "First-response times", columns, on_target),
        _table("first-response", ["first response", "value"], rows.first_response(report)),
        _table("first-response-histogram", ["took", "complaints"], rows.histogram(report)),
    )
