"""`complaintflow similar ID`: the resolved complaints closest to one complaint, as precedent."""

from typing import Annotated

import typer
from rich.table import Table

from complaintflow.engine.bootstrap import open_store
from complaintflow.engine.entrypoints.cli.app import (
    DatabaseOption,
    TextOrJson,
    app,
    console,
    settings_from,
)
from complaintflow.engine.errors import ComplaintNotFound
from complaintflow.engine.redaction import abridged
from complaintflow.state_store.database import redacted, store_errors
from complaintflow.state_store.similar_cases import similar_of


@app.command()
def similar(
    complaint_id: Annotated[str, typer.Argument(help="Complaint id (a merged id works too).")],
    limit: Annotated[int, typer.Option(min=1, max=50, help="How many cases.")] = 5,
    format: Annotated[TextOrJson, typer.Option(help="Output format.")] = TextOrJson.TEXT,
    database_url: DatabaseOption = None,
) -> None:
    """Resolved complaints whose description is closest to this one's, same category first,
    with how each was resolved and how long it took."""
    settings = settings_from(database_url=database_url)
    with store_errors(settings.database_url):
        found = similar_of(open_store(settings), complaint_id, limit)
    if found is None:
        database = redacted(settings.database_url)
        raise ComplaintNotFound(f"complaint {abridged(complaint_id)} not found in {database}")
    if format is TextOrJson.JSON:
        typer.echo(found.model_dump_json(indent=2))
        return
    table = Table(title=f"Resolved complaints similar to {found.complaint_id}")
    for column in ("complaint", "category", "resolution", "handling", "score", "description"):
        table.add_column(column, overflow="fold")
    for case in found.similar:
        hours = "" if case.handling_s is None else f"{case.handling_s / 3600:.1f} h"
        table.add_row(
            case.complaint_id,
            case.category,
            case.resolution or "",
            hours,
            f"{case.score:.2f}",
            case.description,
        )
    console.print(table if found.similar else f"no resolved complaint like {found.complaint_id}")
