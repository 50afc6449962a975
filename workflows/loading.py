"""Reading workflow files. TOML, because it is in the standard library (tomllib), has
comments, and has no YAML-style implicit typing (`NO` read as false, `3:00` as 180)."""

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from complaintflow.engine.errors import WorkflowError, describe_errors
from complaintflow.workflows.definition import WorkflowDefinition

DEFAULT_WORKFLOW = "default.toml"


def read_definition(path: Path | None = None) -> WorkflowDefinition:
    """Parse and validate a workflow file (the built-in one when `path` is None)."""
    where = str(path) if path else f"built-in {DEFAULT_WORKFLOW}"
    try:
        if path is None:
            text = (
                resources.files("complaintflow.workflows")
                .joinpath(DEFAULT_WORKFLOW)
                .read_text("utf-8")
            )
        else:
            text = path.read_text("utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise WorkflowError(f"workflow file {where}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(f"workflow file {where}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise WorkflowError(f"workflow file {where}: not valid TOML: {exc}") from None
    try:
        return WorkflowDefinition.model_validate(data)
    except ValidationError as exc:
        problems = describe_errors(exc.errors(include_url=False))
        raise WorkflowError(f"workflow file {where}: {problems}") from None
