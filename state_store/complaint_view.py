"""One complaint as ops look it up: its current row and its history, read in one read-only
transaction so that the version shown and the last history row agree."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select

from complaintflow.state_store.database import READ_ONLY
from complaintflow.state_store.history import read_history
from complaintflow.state_store.models import HistoryRow
from complaintflow.state_store.tables import complaints_t


@dataclass(frozen=True)
class ComplaintView:
    complaint_id: str
    state: str
    version: int
    priority: str
    department: str
    escalation_level: str | None
    category: str
    channels: tuple[str, ...]
    history: Sequence[HistoryRow]


def complaint_view(engine: Engine, complaint_id: str) -> ComplaintView | None:
    """The complaint (a merged id gives the complaint it was merged into), or None."""
    c = complaints_t.c
    with engine.connect().execution_options(**READ_ONLY) as connection:
        history = read_history(connection, complaint_id)
        if not history:
            return None
        row = connection.execute(
            select(
                c.complaint_id,
                c.state,
                c.version,
                c.priority,
                c.department,
                c.escalation_level,
                c.category,
                c.channels,
            ).where(c.complaint_id == history[0].complaint_id)
        ).one()
    return ComplaintView(
        complaint_id=row.complaint_id,
        state=row.state,
        version=row.version,
        priority=row.priority,
        department=row.department,
        escalation_level=row.escalation_level,
        category=row.category,
        channels=tuple(row.channels.split(",")),
        history=history,
    )
