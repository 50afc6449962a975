"""`complaintflow report`: the KPI report from the store, as text, JSON or one HTML file."""

import json
from datetime import date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from complaintflow.engine.core.workflow import Workflow, load_workflow
from complaintflow.engine.entrypoints.cli.app import (
    DatabaseOption,
    WorkflowOption,
    app,
    console,
    settings_from,
)
from complaintflow.engine.errors import ComplaintflowError, StoreUnavailable
from complaintflow.engine.reporting.html import render_html
from complaintflow.engine.reporting.kpi import KpiReport, report_request
from complaintflow.engine.reporting.text import print_report, render_text
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.kpi_queries import compute_report
from complaintflow.state_store.schema import require_head


class ReportInputError(ComplaintflowError):
    """A period bound or an output path the report cannot use."""


class ReportFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    HTML = "html"


MomentOption = Annotated[str | None, typer.Option(help="YYYY-MM-DD or ISO 8601 date-time.")]


def parse_moment(text: str, zone: ZoneInfo, option: str) -> datetime:
    """A date is its midnight and a date-time without offset is wall time, both in the
    report's time zone (the workflow's business calendar), so `--since 2025-07-15` means the
    business day, not UTC's."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), zone)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ReportInputError(
            f"{option} {text!r}: expected YYYY-MM-DD or an ISO 8601 date-time "
            "such as 2025-07-15T09:00:00+08:00"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def open_store(url: str) -> Engine:
    """The store at `url`, refusing a SQLite file that does not exist (connecting would
    create an empty one) and a database that is not at the code's schema."""
    engine = open_engine(url)
    database = make_url(url).database
    file = engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
    if file and not Path(str(database)).is_file():
        raise StoreUnavailable(f"database URL {url!r}: no such SQLite file {database}")
    require_head(engine)
    return engine


def build_report(
    engine: Engine, workflow: Workflow, since: str | None = None, until: str | None = None
) -> KpiReport:
    zone = report_request(workflow).timezone
    start = None if since is None else parse_moment(since, zone, "--since")
    end = None if until is None else parse_moment(until, zone, "--until")
    if start is not None and end is not None and end <= start:
        raise ReportInputError(f"--until {until} is not after --since {since}")
    return compute_report(engine, report_request(workflow, start, end))


def write_output(path: Path, content: str) -> None:
    try:
        path.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise ReportInputError(f"--output {path}: cannot write: {exc.strerror}") from None


def render(report: KpiReport, fmt: ReportFormat) -> str:
    if fmt is ReportFormat.JSON:
        return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    if fmt is ReportFormat.HTML:
        return render_html(report)
    return render_text(report)


@app.command()
def report(
    since: MomentOption = None,
    until: MomentOption = None,
    format: Annotated[ReportFormat, typer.Option(help="Output format.")] = ReportFormat.TEXT,
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of standard output.")
    ] = None,
    database_url: DatabaseOption = None,
    workflow: WorkflowOption = None,
) -> None:
    """The KPI report for complaints received in [--since, --until) (default: all of them).

    Durations are seconds on event time; shares are fractions 0..1; no data is null.
    """
    settings = settings_from(database_url=database_url, workflow=workflow)
    kpis = build_report(
        open_store(settings.database_url), load_workflow(settings.workflow), since, until
    )
    if output is not None:
        write_output(output, render(kpis, format))
        console.print(f"report written to {output}", highlight=False, soft_wrap=True)
    elif format is ReportFormat.TEXT:
        print_report(console, kpis)
    else:
        typer.echo(render(kpis, format), nl=False)


def demo_report(engine: Engine, workflow: Workflow, html: Path) -> None:
    """The demo's ending: the whole day's report as text, and as HTML in `html`."""
    kpis = build_report(engine, workflow)
    write_output(html, render_html(kpis))
    print_report(console, kpis)
    console.print(f"HTML report with charts: {html.resolve()}", highlight=False, soft_wrap=True)
