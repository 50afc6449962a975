"""Commands that need neither broker nor database: replay."""

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.table import Table

from complaintflow.engine.bootstrap import load_workflow
from complaintflow.engine.core.replay import ReplayResult, replay
from complaintflow.engine.entrypoints.cli.app import (
    TextOrJson,
    UntilTimersOption,
    WorkflowOption,
    app,
    console,
    read_lines,
    settings_from,
)

COLUMNS = ("complaint", "state", "version", "priority", "department", "channels", "escalation")


class ReplayedComplaint(BaseModel):
    complaint_id: str
    state: str
    version: int
    priority: str
    department: str
    escalation_level: str | None
    channels: list[str]


class RefusedLine(BaseModel):
    line: int
    complaint_id: str | None
    reason: str


class ReplayCounts(BaseModel):
    complaints: int
    applied: int
    timers_fired: int
    duplicates: int
    merged: int
    refused: int
    by_state: dict[str, int]


class ReplayOutput(BaseModel):
    """`replay --format json`, as the contract spells it: one object a script can read."""

    complaints: list[ReplayedComplaint]
    refused: list[RefusedLine]
    counts: ReplayCounts

    @classmethod
    def of(cls, result: ReplayResult) -> "ReplayOutput":
        return cls(
            complaints=[
                ReplayedComplaint(
                    complaint_id=c.complaint_id,
                    state=c.state,
                    version=c.version,
                    priority=c.priority.value,
                    department=c.department.value,
                    escalation_level=c.escalation_level.value if c.escalation_level else None,
                    channels=list(c.channels),
                )
                for c in sorted(result.complaints.values(), key=lambda c: c.complaint_id)
            ],
            refused=[
                RefusedLine(line=r.line, complaint_id=r.complaint_id, reason=r.reason)
                for r in result.refusals
            ],
            counts=ReplayCounts(
                complaints=len(result.complaints),
                applied=result.applied,
                timers_fired=result.timers_fired,
                duplicates=result.duplicates,
                merged=len(result.aliases),
                refused=len(result.refusals),
                by_state=dict(sorted(Counter(c.state for c in result.complaints.values()).items())),
            ),
        )


@app.command("replay")
def replay_command(
    file: Annotated[Path, typer.Argument(help="JSON-lines file of event envelopes.")],
    workflow: WorkflowOption = None,
    timers: Annotated[bool, typer.Option(help="Fire timers that come due between events.")] = True,
    until: UntilTimersOption = None,
    summary: Annotated[
        bool, typer.Option("--summary", help="Counts only, no row per complaint.")
    ] = False,
    format: Annotated[TextOrJson, typer.Option(help="Output format.")] = TextOrJson.TEXT,
) -> None:
    """Feed a JSON-lines file through the decision function offline and print the outcome."""
    flow = load_workflow(settings_from(workflow=workflow).workflow)
    output = ReplayOutput.of(replay(read_lines(file), flow, fire_timers=timers, until=until))
    if format is TextOrJson.JSON:
        typer.echo(output.model_dump_json(indent=2))
    else:
        _print_replay(output, summary=summary)


def _print_replay(output: ReplayOutput, *, summary: bool) -> None:
    if not summary:
        table = Table(title="Complaints", show_lines=False)
        for column in COLUMNS:
            table.add_column(column, overflow="fold")
        for c in output.complaints:
            table.add_row(
                c.complaint_id,
                c.state,
                str(c.version),
                c.priority,
                c.department,
                ",".join(c.channels),
                c.escalation_level or "",
            )
        console.print(table)
    if output.refused:
        refused = Table(title="Refused input (would go to complaints.dlq)")
        for column in ("line", "complaint", "reason"):
            refused.add_column(column, overflow="fold")
        for r in output.refused:
            refused.add_row(str(r.line), r.complaint_id or "", r.reason)
        console.print(refused)
    n = output.counts
    console.print(
        f"[bold]{n.complaints}[/] complaints, {n.applied} decisions applied "
        f"({n.timers_fired} timers fired), {n.duplicates} duplicates, {n.merged} merged, "
        f"{n.refused} refused; by state: "
        + ", ".join(f"{state} {count}" for state, count in n.by_state.items())
    )
