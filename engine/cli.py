"""The `complaintflow` command: the one wiring place that builds adapters from settings.

Every command turns the project's own errors into one line on stderr and a non-zero exit;
a traceback is a bug.
"""

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from complaintflow.engine.errors import ComplaintflowError, InputFileError
from complaintflow.engine.replay import ReplayResult, replay
from complaintflow.engine.workflow import load_workflow

app = typer.Typer(
    name="complaintflow",
    help="Event-driven workflow engine for customer complaints.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)


@app.callback()
def _root() -> None:
    """Event-driven workflow engine for customer complaints."""


WorkflowOption = Annotated[
    Path | None,
    typer.Option(
        "--workflow", envvar="COMPLAINTFLOW_WORKFLOW", help="Workflow definition file (TOML)."
    ),
]


@app.command("replay")
def replay_command(
    file: Annotated[Path, typer.Argument(help="JSON-lines file of event envelopes.")],
    workflow: WorkflowOption = None,
    timers: Annotated[bool, typer.Option(help="Fire timers that come due between events.")] = True,
    summary: Annotated[
        bool, typer.Option("--summary", help="Counts only, no row per complaint.")
    ] = False,
) -> None:
    """Feed a JSON-lines file through the decision function offline and print the outcome."""
    flow = load_workflow(workflow)
    lines = _read_lines(file)
    result = replay(lines, flow, fire_timers=timers)
    _print_replay(result, summary=summary)


def _read_lines(file: Path) -> list[bytes]:
    try:
        return file.read_bytes().splitlines()
    except FileNotFoundError:
        raise InputFileError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{file}: is a directory, not a JSON-lines file") from None
    except OSError as exc:
        raise InputFileError(f"{file}: cannot read: {exc.strerror}") from None


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


def main() -> None:
    """Console-script entry point: project errors become one line and exit status 2."""
    try:
        app()
    except ComplaintflowError as exc:
        errors.print(f"complaintflow: {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
