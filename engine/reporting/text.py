"""The KPI report as rich tables, for the terminal and `--format text`. Pure: it only lays
out the rows of `report_rows`."""

from io import StringIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from complaintflow.engine.reporting import rows
from complaintflow.engine.reporting.kpi import KpiReport


def _table(title: str, header: list[str], body: rows.Rows) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", min_width=len(title))
    for index, column in enumerate(header):
        table.add_column(column, justify="left" if index == 0 else "right")
    for row in body:  # Text, not markup: agent ids and labels are free text from upstream
        table.add_row(*(Text(cell) for cell in row))
    return table


def report_tables(report: KpiReport) -> list[Table]:
    """Every figure of the report, one table per section."""
    fr, a = report.first_response, report.agents
    return [
        _table(f"KPI report: {rows.period(report)}", ["figure", "value"], rows.headline(report)),
        _table("Volume and handling by category", rows.CATEGORY_HEADER, rows.categories(report)),
        _table(
            "Volume by channel (first contact)",
            ["channel", "count", "share"],
            rows.counts(report.volume.by_channel),
        ),
        _table("First-response time", ["first response", "value"], rows.first_response(report)),
        _table(
            f"First responses by time taken (target {rows.duration(fr.target_s)})",
            ["took", "complaints"],
            rows.histogram(report),
        ),
        _table(
            "Escalations by level",
            ["level", "count", "share"],
            rows.counts(report.escalations.by_level),
        ),
        _table(
            "Escalations by cause",
            ["cause", "count", "share"],
            rows.counts(report.escalations.by_cause),
        ),
        _table(
            "Department collaboration (request to reply)",
            rows.DEPARTMENT_HEADER,
            rows.departments(report),
        ),
        _table(
            f"CSAT: mean {rows.score(report.csat.mean)}, NPS {rows.nps(report.nps)}",
            ["score", "answers"],
            rows.csat(report),
        ),
        _table("Complaints received per day", ["day", "complaints"], rows.days(report)),
        _table(
            f"Complaints per agent: {a.total} agents, mean {rows.score(a.mean_complaints)}",
            ["agent", "complaints"],
            rows.agents(report),
        ),
    ]


def print_report(console: Console, report: KpiReport) -> None:
    for table in report_tables(report):
        console.print(table)


def render_text(report: KpiReport, width: int = 110) -> str:
    """Plain text (no colour codes), for --output files and tests."""
    console = Console(file=StringIO(), width=width, color_system=None, record=True)
    print_report(console, report)
    return console.export_text()
