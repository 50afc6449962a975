"""Similar resolved complaints, found through a text index rather than by reading rows.

`complaint_text` holds each complaint's category and description, written in the batch
transaction that creates the complaint (migration 0003 creates it and fills it for older
complaints); `text_search` finds candidates in it, per backend, by shared trigrams (so
Chinese text, which has no spaces between words, is matched too). The resolved candidates
are ranked same category first, then by trigram similarity.
"""

import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import OperationalError

from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.payloads import SimilarCase
from complaintflow.engine.core.vocabulary import Category, Resolution
from complaintflow.state_store.database import READ_ONLY
from complaintflow.state_store.tables import aliases_t, complaints_t, history_t
from complaintflow.state_store.text_search import (
    complaint_text,
    postgresql_candidates,
    sqlite_candidates,
    statement_timeout,
)

PRECEDENT_BUDGET = timedelta(milliseconds=20)
_QUERY_CANCELED = "57014"


class SimilarCases(BaseModel):
    """`GET /complaints/{id}/similar` and `complaintflow similar ID --format json`."""

    complaint_id: str
    similar: list[SimilarCase]


def index_complaints(connection: Connection, complaints: Sequence[Complaint]) -> None:
    """Index new complaints' descriptions, in the caller's (the batch's) transaction."""
    rows = [
        {"complaint_id": c.complaint_id, "category": c.category.value, "description": c.description}
        for c in complaints
        if c.description
    ]
    if rows:
        connection.execute(complaint_text.insert(), rows)


def similar_to(
    connection: Connection,
    description: str,
    category: Category,
    exclude: str,
    limit: int,
    *,
    indexed: bool,
    deadline: float | None = None,
) -> list[SimilarCase]:
    """The `limit` resolved complaints closest to `description`, same category first, then
    by similarity. `exclude` is the complaint asked about; `indexed` says whether its
    description is in the index already."""
    if connection.dialect.name == "sqlite":
        found = sqlite_candidates(connection, description, exclude, indexed, deadline)
    else:
        found = postgresql_candidates(connection, description, exclude)
    ranked = sorted(
        found,
        key=lambda row: (row["category"] != category.value, -row["score"], row["complaint_id"]),
    )
    chosen = ranked[:limit]
    resolutions = _resolutions(connection, [row["complaint_id"] for row in chosen])
    return [
        SimilarCase(
            complaint_id=row["complaint_id"],
            category=Category(row["category"]),
            resolution=resolutions.get(row["complaint_id"]),
            handling_s=_seconds(row["received_at"], row["resolved_at"]),
            score=round(row["score"], 4),
            description=row["description"],
        )
        for row in chosen
    ]


def similar_for(
    connection: Connection,
    subjects: Mapping[str, tuple[Category, str, bool]],
    limit: int,
    budget: timedelta,
) -> dict[str, tuple[SimilarCase, ...]]:
    """For each complaint id and its (category, description, indexed): the closest resolved
    complaints, for as many as fit in `budget` of the batch's time. Precedent is advice: a
    batch never waits long for it, so under a backlog the complaints past the budget get
    none. Each lookup runs in a savepoint; on PostgreSQL a statement that would overrun
    the budget is cancelled there, which leaves the batch's transaction intact."""
    found: dict[str, tuple[SimilarCase, ...]] = {}
    deadline = time.monotonic() + budget.total_seconds()
    for cid, (category, description, indexed) in subjects.items():
        if time.monotonic() >= deadline:
            break
        try:
            with connection.begin_nested(), statement_timeout(connection, deadline):
                cases = similar_to(
                    connection,
                    description,
                    category,
                    cid,
                    limit,
                    indexed=indexed,
                    deadline=deadline,
                )
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != _QUERY_CANCELED:
                raise
            break
        if cases:
            found[cid] = tuple(cases)
    return found


def similar_of(engine: Engine, complaint_id: str, limit: int) -> SimilarCases | None:
    """A stored complaint's closest resolved complaints (a merged id gives those of the
    complaint it was merged into), or None when no such complaint is stored."""
    with engine.connect().execution_options(**READ_ONLY) as connection:
        target = (
            connection.scalar(
                select(aliases_t.c.complaint_id).where(aliases_t.c.merged_id == complaint_id)
            )
            or complaint_id
        )
        row = connection.execute(
            select(complaints_t.c.category).where(complaints_t.c.complaint_id == target)
        ).first()
        if row is None:
            return None
        description = _indexed_description(connection, target)
        if not description:
            return SimilarCases(complaint_id=target, similar=[])
        cases = similar_to(
            connection, description, Category(row.category), target, limit, indexed=True
        )
    return SimilarCases(complaint_id=target, similar=cases)


def _indexed_description(connection: Connection, complaint_id: str) -> str | None:
    """The complaint's description as indexed: its complaint.received's (the history row,
    found by key; the index's own id column is not indexed on SQLite)."""
    payload = connection.scalar(
        select(history_t.c.payload).where(
            history_t.c.complaint_id == complaint_id,
            history_t.c.version == 1,
            history_t.c.type == "complaint.received",
        )
    )
    return None if payload is None else payload.get("description")


def _resolutions(connection: Connection, complaint_ids: list[str]) -> dict[str, Resolution]:
    """Each complaint's latest complaint.resolved resolution."""
    if not complaint_ids:
        return {}
    rows = connection.execute(
        select(history_t.c.complaint_id, history_t.c.payload)
        .where(
            history_t.c.type == "complaint.resolved",
            history_t.c.complaint_id.in_(complaint_ids),
        )
        .order_by(history_t.c.complaint_id, history_t.c.version)
    )
    return {
        cid: Resolution(payload["resolution"]) for cid, payload in rows if payload.get("resolution")
    }


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()
