"""Commands that need neither broker nor database: replay."""

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from complaintflow.engine.bootstrap import load_workflow
from complaintflow.engine.core.replay import ReplayResult, replay
from complaintflow.engine.entrypoints.cli.app import (
    WorkflowOption,
    app,
    console,
    read_lines,
    settings_from,
)


@app.command("replay")
def replay_command(
    file: Annotated[Path, typer.Argument(help="JSON-lines file of event envelopes.")],
    workflow: WorkflowOption = None,
    timers: Annotated[bool, typer.Option(help="Fire timers that come due between events.")] = True,
    until: Annotated[
        datetime | None,
        typer.Option(
            help="Also fire timers due after the last event up to this instant "
            "(ISO 8601 with offset).",
            formats=["%Y-%m-%dT%H:%M:%S%z"],
        ),
    ] = None,
    summary: Annotated[
        bool, typer.Option("--summary", help="Counts only, no row per complaint.")
    ] = False,
) -> None:
    """Feed a JSON-lines file through the decision function offline and print the outcome."""
    flow = load_workflow(settings_from(workflow=workflow).workflow)
    result = replay(read_lines(file), flow, fire_timers=timers, until=until)
    _print_replay(result, summary=summary)


def _print_replay(result: ReplayResult, *, summary: bool) -> None:
    if not summary:
        table = Table(title="Complaints", show_lines=False)
        for column in (
            "complaint",
            "state",
            "version",
            "priority",
            "department",
            "channels",
            "escalation",
        ):
            table.add_column(column)
        for c in sorted(result.complaints.values(), key=lambda c: c.complaint_id):
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
    if result.refusals:
        refused = Table(title="Refused input (would go to complaints.dlq)")
        for column in ("line", "complaint", "reason"):
            refused.add_column(column, overflow="fold")
        for r in result.refusals:
            refused.add_row(str(r.line), r.complaint_id or "", r.reason)
        console.print(refused)
    states = Counter(c.state for c in result.complaints.values())
    console.print(
        f"[bold]{len(result.complaints)}[/] complaints, {result.applied} decisions applied "
        f"({result.timers_fired} timers fired), {result.duplicates} duplicates, "
        f"{len(result.aliases)} merged, "
        f"{len(result.refusals)} refused; by state: "
        + ", ".join(f"{state} {count}" for state, count in sorted(states.items()))
    )
