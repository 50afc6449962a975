"""`complaintflow report`: the KPI report from the store, as text, JSON or one HTML file."""

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from complaintflow.engine.bootstrap import load_workflow, open_store
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.entrypoints.cli.app import (
    DatabaseOption,
    OutputOption,
    WorkflowOption,
    app,
    console,
    settings_from,
)
from complaintflow.engine.errors import ComplaintflowError
from complaintflow.engine.reporting.html import render_html
from complaintflow.engine.reporting.kpi import KpiReport, ReportRequest, report_request
from complaintflow.engine.reporting.period import parse_period
from complaintflow.engine.reporting.text import print_report, render_text
from complaintflow.state_store.database import store_errors
from complaintflow.state_store.kpi.queries import compute_report


class ReportOutputError(ComplaintflowError):
    """An output path the report cannot write."""


class ReportFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    HTML = "html"


MomentOption = Annotated[str | None, typer.Option(help="YYYY-MM-DD or ISO 8601 date-time.")]


def period_request(
    workflow: Workflow,
    since: str | None = None,
    until: str | None = None,
    names: tuple[str, str] = ("--since", "--until"),
) -> ReportRequest:
    """The report for [since, until) as written by a person (see `parse_period`)."""
    start, end = parse_period(since, until, report_request(workflow).timezone, names)
    return report_request(workflow, start, end)


def build_report(
    engine: Engine,
    workflow: Workflow,
    since: str | None = None,
    until: str | None = None,
    names: tuple[str, str] = ("--since", "--until"),
) -> KpiReport:
    return compute_report(engine, period_request(workflow, since, until, names))


def write_output(path: Path, content: str) -> None:
    try:
        path.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise ReportOutputError(f"--output {path}: cannot write: {exc.strerror}") from None


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
    output: OutputOption = None,
    database_url: DatabaseOption = None,
    workflow: WorkflowOption = None,
) -> None:
    """The KPI report for complaints received in [--since, --until) (default: all of them).

    Durations are seconds on event time; shares are fractions 0..1; no data is null.
    """
    settings = settings_from(database_url=database_url, workflow=workflow)
    # the period first: a bad date is said whatever the database's state
    request = period_request(load_workflow(settings.workflow), since, until)
    with store_errors(settings.database_url):
        kpis = compute_report(open_store(settings), request)
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
