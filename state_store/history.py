"""A complaint's history as the store holds it: the query behind `complaintflow timeline` and
GET /complaints/{id}."""

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, select

from complaintflow.state_store.database import READ_ONLY
from complaintflow.state_store.models import HistoryRow
from complaintflow.state_store.tables import aliases_t, history_t


def complaint_history(engine: Engine, complaint_id: str) -> Sequence[HistoryRow]:
    """One complaint's history in version order (merged ids resolve to their target)."""
    with engine.connect().execution_options(**READ_ONLY) as connection:
        return read_history(connection, complaint_id)


def read_history(connection: Connection, complaint_id: str) -> list[HistoryRow]:
    """On the caller's connection, so that a caller can read more in the same transaction."""
    target = connection.scalar(
        select(aliases_t.c.complaint_id).where(aliases_t.c.merged_id == complaint_id)
    )
    rows = connection.execute(
        select(history_t)
        .where(history_t.c.complaint_id == (target or complaint_id))
        .order_by(history_t.c.version)
    )
    return [HistoryRow(**row._mapping) for row in rows]
