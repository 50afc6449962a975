"""The `complaintflow` command: the one wiring place that builds adapters from settings.

Every command turns the project's own errors into one line on stderr and a non-zero exit;
a traceback is a bug.
"""

from complaintflow.engine import (  # noqa: F401 - importing registers the commands
    cli_bench,
    cli_offline,
    cli_ops,
    cli_report,
    cli_serve,
    cli_service,
)
from complaintflow.engine.cli_app import app, errors
from complaintflow.engine.errors import ComplaintflowError


def main() -> None:
    """Console-script entry point: project errors become one line and exit status 2."""
    try:
        app()
    except ComplaintflowError as exc:
        one_line = " ".join(str(exc).split())  # drivers' messages may span lines
        errors.print(f"complaintflow: {one_line}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        errors.print("complaintflow: interrupted", highlight=False)
        raise SystemExit(130) from None
