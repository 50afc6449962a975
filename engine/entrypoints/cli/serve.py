"""`complaintflow serve`: the read-only HTTP service for ops (engine/http_api.py)."""

import ipaddress
from typing import Annotated

import typer
import uvicorn
from fastapi import HTTPException
from sqlalchemy import Engine

from complaintflow.engine.bootstrap import build_http_app, load_workflow
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.entrypoints.cli.app import (
    DatabaseOption,
    GroupOption,
    PrefixOption,
    WorkflowOption,
    app,
    console,
    settings_from,
)
from complaintflow.engine.entrypoints.cli.report import build_report
from complaintflow.engine.entrypoints.cli.worker import configure_logging
from complaintflow.engine.entrypoints.http.app import ReportBuilder
from complaintflow.engine.errors import ComplaintflowError
from complaintflow.engine.reporting.kpi import KpiReport
from complaintflow.engine.reporting.period import PeriodError
from complaintflow.state_store.database import redacted


def kpi_report(workflow: Workflow) -> ReportBuilder:
    """GET /report: the KPI report of `complaintflow report --format json`, its bounds read
    the same way (a date is the business day's midnight), targets from the workflow."""

    def build(engine: Engine, since: str | None, until: str | None) -> KpiReport:
        try:
            return build_report(engine, workflow, since, until, names=("since", "until"))
        except PeriodError as exc:
            raise HTTPException(422, str(exc)) from None

    return build


class UnsafeBind(ComplaintflowError):
    """Serving beyond this machine without a token."""


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (env COMPLAINTFLOW_SERVE_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (env COMPLAINTFLOW_SERVE_PORT; default 8080).")
    ] = None,
    database_url: DatabaseOption = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="Bearer token every request must carry (prefer the env variable, which other "
            "users cannot see) (env COMPLAINTFLOW_SERVE_TOKEN)."
        ),
    ] = None,
    bootstrap_servers: Annotated[
        str | None,
        typer.Option(
            help="Kafka bootstrap servers, for consumer lag (env COMPLAINTFLOW_BOOTSTRAP_SERVERS); "
            "unset: no lag figures."
        ),
    ] = None,
    topic_prefix: PrefixOption = None,
    group_id: GroupOption = None,
    workflow: WorkflowOption = None,
) -> None:
    """Read-only HTTP service: complaint timelines, the KPI report, health and metrics.

    Without a token it binds to loopback only; consumer lag is shown when a broker is set.
    """
    settings = settings_from(
        serve_host=host,
        serve_port=port,
        database_url=database_url,
        serve_token=token,
        bootstrap_servers=bootstrap_servers,
        topic_prefix=topic_prefix,
        group_id=group_id,
        workflow=workflow,
    )
    if settings.serve_token is None and not is_loopback(settings.serve_host):
        raise UnsafeBind(
            f"refusing to serve on {settings.serve_host} without a token: set "
            "COMPLAINTFLOW_SERVE_TOKEN (or --token), or bind to 127.0.0.1"
        )
    configure_logging(settings)  # the service's own warnings, secrets hidden as the worker's
    service = build_http_app(settings, report=kpi_report(load_workflow(settings.workflow)))
    database = redacted(settings.database_url)
    console.print(
        f"serving {database} on http://{settings.serve_host}:{settings.serve_port}",
        highlight=False,
    )
    uvicorn.run(
        service,
        host=settings.serve_host,
        port=settings.serve_port,
        log_level="warning",
        server_header=False,
    )
