"""`complaintflow simulate`: what a workflow change would have done to the same events.

Both workflows decide the events through `replay` (the worker's own decision function, event
time as the clock, so SLA timers fire as they would have), each outcome is written into a
scratch SQLite store with the store's own columns, and the KPI report is computed there by
the report's own code. No figure has a second implementation here; this module only lays
the two reports side by side.
"""

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.table import Table

from complaintflow.engine.bootstrap import load_workflow, open_database
from complaintflow.engine.core.replay import replay
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.entrypoints.cli.app import (
    TextOrJson,
    UntilTimersOption,
    WorkflowOption,
    app,
    console,
    read_lines,
    settings_from,
)
from complaintflow.engine.reporting.kpi import KpiReport, report_request
from complaintflow.state_store.kpi.queries import compute_report
from complaintflow.state_store.replayed import write_replay
from complaintflow.state_store.schema import upgrade

RECORDED_AT = datetime(2000, 1, 1, tzinfo=UTC)  # a scratch store: when it was written is moot


class Simulation(BaseModel):
    """`simulate --format json`: the two KPI reports, each as `report --format json` has it."""

    baseline: KpiReport
    candidate: KpiReport


def simulated_report(
    lines: list[bytes], workflow: Workflow, until: datetime | None = None
) -> KpiReport:
    """The KPI report a store would show had `workflow` decided `lines`."""
    result = replay(lines, workflow, until=until)
    with tempfile.TemporaryDirectory(prefix="complaintflow-simulate-") as scratch:
        settings = settings_from(database_url=f"sqlite:///{scratch}/simulated.db")
        engine = open_database(settings)
        try:
            upgrade(engine)
            write_replay(engine, result, RECORDED_AT)
            return compute_report(engine, report_request(workflow))
        finally:
            engine.dispose()


def differences(baseline: KpiReport, candidate: KpiReport) -> list[tuple[str, Any, Any]]:
    """(figure, baseline, candidate) of every figure that differs, by its JSON path."""
    before, after = _leaves(baseline), _leaves(candidate)
    return [
        (path, before.get(path), after.get(path))
        for path in sorted(before.keys() | after.keys())
        if before.get(path) != after.get(path) and not path.startswith("period.")
    ]


def _leaves(report: KpiReport) -> dict[str, Any]:
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(f"{prefix}[{index}]", inner)
        else:
            flat[prefix] = value

    walk("", report.model_dump(mode="json"))
    return flat


@app.command()
def simulate(
    file: Annotated[Path, typer.Argument(help="JSON-lines file of event envelopes.")],
    workflow: Annotated[Path, typer.Option(help="The candidate workflow file.")],
    baseline: WorkflowOption = None,
    until: UntilTimersOption = None,
    format: Annotated[TextOrJson, typer.Option(help="Output format.")] = TextOrJson.TEXT,
) -> None:
    """Replay the same events through the baseline (default: the configured workflow) and a
    candidate workflow, and show both KPI reports and where they differ."""
    current = load_workflow(settings_from(workflow=baseline).workflow)
    candidate_flow = load_workflow(settings_from(workflow=workflow).workflow)
    lines = read_lines(file)
    simulation = Simulation(
        baseline=simulated_report(lines, current, until),
        candidate=simulated_report(lines, candidate_flow, until),
    )
    if format is TextOrJson.JSON:
        typer.echo(json.dumps(simulation.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    changed = differences(simulation.baseline, simulation.candidate)
    table = Table(
        title=f"simulate: {current.definition.name} v{current.definition.version} (baseline) "
        f"against {candidate_flow.definition.name} v{candidate_flow.definition.version} "
        f"(candidate), {simulation.baseline.counts.received} complaints"
    )
    for column in ("figure", "baseline", "candidate"):
        table.add_column(column, overflow="fold")
    for path, before, after in changed:
        table.add_row(path, _shown(before), _shown(after))
    console.print(table if changed else "the two workflows give the same report")


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.1f}"
    return str(value)
