"""Commands for workflow authors: check a file before deploying it, and draw it."""

from pathlib import Path
from typing import Annotated

import typer

from complaintflow.engine.core.workflow import Workflow, compile_workflow
from complaintflow.engine.entrypoints.cli.app import app
from complaintflow.workflows.loading import read_definition
from complaintflow.workflows.machine import mermaid_diagram

workflow_app = typer.Typer(help="Workflow files: check and draw them.", no_args_is_help=True)
app.add_typer(workflow_app, name="workflow")


def _compiled(file: Path | None) -> Workflow:
    """Read and compile as the worker does, so a file that passes here also loads there."""
    return compile_workflow(read_definition(file))


@workflow_app.command("check")
def check_command(
    file: Annotated[Path, typer.Argument(help="Workflow definition file (TOML).")],
) -> None:
    """Validate a workflow file and list the states and transitions the engine would use."""
    flow = _compiled(file)
    definition = flow.definition
    marks = {definition.initial: " (initial)"} | dict.fromkeys(definition.final_states, " (final)")
    lines = [f"workflow {definition.name!r} version {definition.version}: ok"]
    lines.append(f"states ({len(definition.states)}):")
    lines += [f"  {state}{marks.get(state, '')}" for state in definition.states]
    # From the compiled table rather than the file: "=" resolved, one line per source state,
    # and rules for the same state and trigger in the order they are tried.
    rules = [(source, trigger, rule) for (source, trigger), rs in flow.table.items() for rule in rs]
    lines.append(f"transitions ({len(rules)}; first match wins per state and trigger):")
    for source, trigger, rule in rules:
        conditions = f" [{', '.join(rule.conditions)}]" if rule.conditions else ""
        lines.append(f"  {trigger}: {source} -> {rule.dest}{conditions}")
    # Plain text, not a rich table: nothing is cut or wrapped when stdout is a pipe or a file.
    typer.echo("\n".join(lines))


@workflow_app.command("diagram")
def diagram_command(
    file: Annotated[
        Path | None, typer.Argument(help="Workflow definition file (TOML); default: built-in.")
    ] = None,
) -> None:
    """Print the workflow's state machine as a Mermaid state diagram (for Markdown)."""
    typer.echo(mermaid_diagram(_compiled(file).definition), nl=False)
