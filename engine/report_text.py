"""The KPI report as rich tables, for the terminal and `--format text`. Pure: it only arranges
the figures of a `KpiReport`."""

from io import StringIO

from rich.console import Console, RenderableType
from rich.table import Table

from complaintflow.engine import report_format as fmt
from complaintflow.engine.kpi import Count, KpiReport

TOP_AGENTS = 10


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", min_width=len(title))
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    return table


def _counts(title: str, name: str, counts: dict[str, Count]) -> Table:
    table = _table(title, name, "count", "share")
    for key, c in counts.items():
        table.add_row(key, *fmt.counted(c))
    return table


def report_tables(report: KpiReport) -> list[RenderableType]:
    """Every figure of the report, one table per section."""
    overview = _table(f"KPI report: {fmt.period(report)}", "figure", "value")
    for figure, value in fmt.headline(report):
        overview.add_row(figure, value)
    categories = _table(
        "Volume and handling by category", "category", "count", "share", "resolved", "mean", "max"
    )
    for name, c in report.volume.by_category.items():
        h = report.handling.by_category.get(name)
        categories.add_row(
            name,
            *fmt.counted(c),
            str(h.resolved if h else 0),
            fmt.duration(h.mean_s if h else None),
            fmt.duration(h.max_s if h else None),
        )
    return [
        overview,
        categories,
        _counts("Volume by channel (first contact)", "channel", report.volume.by_channel),
        _first_response(report),
        _counts("Escalations by level", "level", report.escalations.by_level),
        _counts("Escalations by cause", "cause", report.escalations.by_cause),
        _departments(report),
        _csat(report),
        _days(report),
        _agents(report),
    ]


def _first_response(report: KpiReport) -> Table:
    fr = report.first_response
    table = _table(
        f"First response: {fr.responded} responded, target {fmt.duration(fr.target_s)}",
        "took",
        "complaints",
    )
    for bucket in fr.histogram:
        upper = "" if bucket.to_s is None else fmt.duration(bucket.to_s)
        table.add_row(
            f"{fmt.duration(bucket.from_s)} to {upper or 'longer'}", str(bucket.complaints)
        )
    return table


def _departments(report: KpiReport) -> Table:
    table = _table(
        "Department collaboration (request to reply)",
        "department",
        "requests",
        "answered",
        "mean",
        "p90",
        "within SLA",
    )
    for name, d in report.departments.items():
        slowest = " (slowest)" if name == report.slowest_department else ""
        table.add_row(
            name + slowest,
            str(d.requests),
            str(d.answered),
            fmt.duration(d.mean_s),
            fmt.duration(d.p90_s),
            fmt.share(d.within_sla_share),
        )
    return table


def _csat(report: KpiReport) -> Table:
    table = _table(f"CSAT: mean {fmt.score(report.csat.mean)}", "score", "answers")
    for value, answers in report.csat.distribution.items():
        table.add_row(str(value), str(answers))
    return table


def _days(report: KpiReport) -> Table:
    table = _table("Complaints received per day", "day", "complaints")
    for day, count in report.volume.by_day.items():
        table.add_row(day.isoformat(), str(count))
    return table


def _agents(report: KpiReport) -> Table:
    agents = report.agents
    table = _table(
        f"Complaints per agent: {agents.total} agents, mean {fmt.score(agents.mean_complaints)}",
        "agent",
        "complaints",
    )
    shown = list(agents.by_agent.items())[:TOP_AGENTS]
    for agent, complaints in shown:
        table.add_row(agent, str(complaints))
    if agents.total > len(shown):
        table.add_row(f"... {agents.total - len(shown)} more (see --format json)", "")
    return table


def render_text(report: KpiReport, width: int = 110) -> str:
    """Plain text (no colour codes), for --output files and tests."""
    console = Console(file=StringIO(), width=width, color_system=None, record=True)
    print_report(console, report)
    return console.export_text()


def print_report(console: Console, report: KpiReport) -> None:
    for table in report_tables(report):
        console.print(table)
