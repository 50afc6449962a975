"""A stand-in for the KPI report behind GET /report: the period and the complaint volume only.

The full report (ARCHITECTURE.md, "the KPI report") is built elsewhere; `complaintflow serve`
takes any function of this signature, so the real one replaces this module in one import.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from complaintflow.state_store.database import READ_ONLY
from complaintflow.state_store.unit_of_work import complaints_t


def build_report(engine: Engine, since: datetime | None, until: datetime | None) -> dict[str, Any]:
    """Complaints received in [since, until) on event time; an open end is unbounded."""
    received = complaints_t.c.received_at
    query = select(func.count()).select_from(complaints_t)
    if since is not None:
        query = query.where(received >= since)
    if until is not None:
        query = query.where(received < until)
    with engine.connect().execution_options(**READ_ONLY) as c:
        total = c.scalar(query) or 0
    return {
        "period": {
            "since": None if since is None else since.isoformat(),
            "until": None if until is None else until.isoformat(),
        },
        "volume": {"total": total},
    }
