"""`complaintflow export`: the inbound events the store applied, as JSON lines that `replay`,
`simulate` and `publish` accept ("what would last month have looked like with ...")."""

import sys

from complaintflow.engine.bootstrap import load_workflow, open_store
from complaintflow.engine.entrypoints.cli.app import (
    DatabaseOption,
    OutputOption,
    WorkflowOption,
    app,
    errors,
    settings_from,
)
from complaintflow.engine.entrypoints.cli.report import (
    MomentOption,
    ReportOutputError,
    period_request,
)
from complaintflow.state_store.database import store_errors
from complaintflow.state_store.export import applied_inbound


@app.command()
def export(
    since: MomentOption = None,
    until: MomentOption = None,
    output: OutputOption = None,
    database_url: DatabaseOption = None,
    workflow: WorkflowOption = None,
) -> None:
    """Write the inbound events applied to complaints received in [--since, --until) (as the
    report reads the period), one envelope per line, in event-time order."""
    settings = settings_from(database_url=database_url, workflow=workflow)
    request = period_request(load_workflow(settings.workflow), since, until)
    try:
        sink = sys.stdout.buffer if output is None else output.open("wb")
    except OSError as exc:
        raise ReportOutputError(f"--output {output}: cannot write: {exc.strerror}") from None
    written = 0
    try:
        with store_errors(settings.database_url):
            for line in applied_inbound(open_store(settings), request.since, request.until):
                sink.write(line + b"\n")
                written += 1
    finally:
        if output is not None:
            sink.close()
    if output is not None:
        errors.print(f"{written} events written to {output}", highlight=False, soft_wrap=True)
