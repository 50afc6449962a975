"""The typer application and what its commands share: consoles, options, settings."""

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from complaintflow.engine.errors import ComplaintflowError, InputFileError, describe_errors
from complaintflow.engine.settings import Settings

app = typer.Typer(
    name="complaintflow",
    help="Event-driven workflow engine for customer complaints.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _console(stderr: bool = False) -> Console:
    """Rich's console, as wide as its output when it is not a terminal: a table piped to a
    file or a script keeps every id and state whole instead of cutting them to 80 columns."""
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=UNBOUNDED_WIDTH)


UNBOUNDED_WIDTH = 100_000
console = _console()
errors = _console(stderr=True)


class ConfigurationError(ComplaintflowError):
    """A setting that does not validate."""


BootstrapOption = Annotated[
    str | None,
    typer.Option(
        help="Kafka bootstrap servers (env COMPLAINTFLOW_BOOTSTRAP_SERVERS); unset: embedded."
    ),
]
DatabaseOption = Annotated[
    str | None, typer.Option(help="SQLAlchemy URL (env COMPLAINTFLOW_DATABASE_URL).")
]
PrefixOption = Annotated[
    str | None, typer.Option(help="Topic prefix (env COMPLAINTFLOW_TOPIC_PREFIX).")
]
WorkflowOption = Annotated[
    Path | None, typer.Option(help="Workflow definition file (TOML) (env COMPLAINTFLOW_WORKFLOW).")
]


class TextOrJson(StrEnum):
    TEXT = "text"
    JSON = "json"


OutputOption = Annotated[
    Path | None, typer.Option(help="Write to this file instead of standard output.")
]
UntilTimersOption = Annotated[
    datetime | None,
    typer.Option(
        "--until",
        help="Also fire timers due after the last event up to this instant (ISO 8601 with offset).",
        formats=["%Y-%m-%dT%H:%M:%S%z"],
    ),
]
GroupOption = Annotated[
    str | None, typer.Option(help="Kafka consumer group (env COMPLAINTFLOW_GROUP_ID).")
]
ClockSpeedOption = Annotated[
    float | None,
    typer.Option(help="Clock seconds per wall-clock second (env COMPLAINTFLOW_CLOCK_SPEED)."),
]


def settings_from(**options: Any) -> Settings:
    """Environment first, command-line options over it; invalid values are one line."""
    try:
        return Settings(**{k: v for k, v in options.items() if v is not None})
    except ValidationError as exc:
        raise ConfigurationError(f"bad configuration: {describe_errors(exc.errors())}") from None


def read_lines(file: Path) -> list[bytes]:
    """A JSON-lines file as raw lines (blank lines dropped later), or one-line errors."""
    try:
        return file.read_bytes().splitlines()
    except FileNotFoundError:
        raise InputFileError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{file}: is a directory, not a JSON-lines file") from None
    except OSError as exc:
        raise InputFileError(f"{file}: cannot read: {exc.strerror}") from None


@app.callback()
def _root() -> None:
    """Event-driven workflow engine for customer complaints."""
