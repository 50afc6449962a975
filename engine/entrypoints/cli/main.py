"""The `complaintflow` command.

Every command turns the project's own errors into one line on stderr and a non-zero exit;
a traceback is a bug.
"""

from complaintflow.engine.entrypoints.cli import (  # noqa: F401 - importing registers them
    bench,
    demo,
    export,
    ops,
    replay,
    report,
    serve,
    similar,
    simulate,
    worker,
    workflow,
)
from complaintflow.engine.entrypoints.cli.app import app, errors
from complaintflow.engine.errors import ComplaintflowError
from complaintflow.engine.redaction import error_line


def main() -> None:
    """Console-script entry point: project errors become one line and exit status 2."""
    try:
        app()
    except ComplaintflowError as exc:
        errors.print(f"complaintflow: {error_line(exc)}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        errors.print("complaintflow: interrupted", highlight=False)
        raise SystemExit(130) from None
