"""Similar resolved complaints, found through a text index rather than by reading rows.

`complaint_text` holds each complaint's category and description, written in the batch
transaction that creates the complaint (migration 0003 creates it and fills it for older
complaints). On SQLite it is an FTS5 table with the trigram tokenizer; on PostgreSQL a table
with a pg_trgm GIN index. Both find candidates by shared trigrams (so Chinese text, which
has no spaces between words, is matched too); the candidates that are resolved are ranked
same category first, then by trigram similarity (pg_trgm's `similarity` on PostgreSQL; the
same measure, shared trigrams over all trigrams, computed on SQLite's few candidates).
"""

import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, column, func, literal, select, table, text
from sqlalchemy.exc import OperationalError

from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.payloads import SimilarCase
from complaintflow.engine.core.vocabulary import Category, Resolution
from complaintflow.state_store.database import READ_ONLY
from complaintflow.state_store.tables import aliases_t, complaints_t, history_t

complaint_text = table(
    "complaint_text", column("complaint_id"), column("category"), column("description")
)
RESOLVED_STATES = ("resolved", "revisited", "archived")
CANDIDATES = 50  # ranked by the index, then re-ranked by category and similarity
RAREST_TRIGRAMS = 8  # SQLite: the query's most selective trigrams find the candidates
MIN_SCORE = 0.1  # similarity below which a description is no precedent, on both backends
PRECEDENT_BUDGET_S = 0.02  # of a batch's time, for finding its assignments' precedent


def index_complaints(connection: Connection, complaints: Sequence[Complaint]) -> None:
    """Index new complaints' descriptions, in the caller's (the batch's) transaction."""
    rows = [
        {"complaint_id": c.complaint_id, "category": c.category.value, "description": c.description}
        for c in complaints
        if c.description
    ]
    if rows:
        connection.execute(complaint_text.insert(), rows)


def trigrams(value: str) -> set[str]:
    """The case-folded three-character windows of a text, as SQLite's trigram tokenizer
    indexes them."""
    folded = value.casefold()
    return {folded[i : i + 3] for i in range(len(folded) - 2)}


def trigram_similarity(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def similar_to(
    connection: Connection,
    description: str,
    category: Category,
    exclude: str,
    limit: int,
) -> list[SimilarCase]:
    """The `limit` resolved complaints closest to `description`, same category first."""
    if connection.dialect.name == "sqlite":
        found = _sqlite_candidates(connection, description, exclude)
    else:
        found = _postgresql_candidates(connection, description, exclude)
    ranked = sorted(found, key=lambda row: (row["category"] != category.value, -row["score"]))
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
    subjects: Mapping[str, tuple[Category, str]],
    limit: int,
    budget_s: float,
) -> dict[str, tuple[SimilarCase, ...]]:
    """For each complaint id: the resolved complaints closest to its (category, text), as
    many as fit in `budget_s` of the batch's time. Precedent is advice: a batch never waits
    long for it, so under a backlog the complaints past the budget get none. On PostgreSQL a
    query that would overrun the budget is cancelled (statement_timeout in a savepoint, which
    leaves the batch's transaction intact)."""
    found: dict[str, tuple[SimilarCase, ...]] = {}
    deadline = time.monotonic() + budget_s
    for cid, (category, description) in subjects.items():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            with connection.begin_nested():
                if connection.dialect.name != "sqlite":
                    connection.execute(
                        text("SELECT set_config('statement_timeout', :ms, true)"),
                        {"ms": str(max(1, int(left * 1000)))},
                    )
                cases = similar_to(connection, description, category, cid, limit)
                if connection.dialect.name != "sqlite":
                    connection.execute(text("SELECT set_config('statement_timeout', '0', true)"))
        except OperationalError as exc:
            if not _cancelled(exc):
                raise
            break
        if cases:
            found[cid] = tuple(cases)
    return found


def _cancelled(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "57014"  # query_canceled


def _resolved(candidates: Any) -> Any:
    c = complaints_t.c
    return (
        select(
            candidates.c.complaint_id,
            candidates.c.category,
            candidates.c.description,
            candidates.c.score,
            c.received_at,
            c.resolved_at,
        )
        .join(complaints_t, c.complaint_id == candidates.c.complaint_id)
        .where(c.state.in_(RESOLVED_STATES), c.resolved_at.is_not(None))
    )


def _sqlite_candidates(
    connection: Connection, description: str, exclude: str
) -> list[dict[str, Any]]:
    """FTS5: the query's rarest trigrams (by the index's own document counts) OR-ed, ranked
    by bm25; their similarity to the query is then computed on these few rows."""
    wanted = trigrams(description)
    if not wanted:
        return []
    counts: dict[str, int] = {}
    for term in wanted:
        doc = connection.execute(
            text("SELECT doc FROM complaint_text_terms WHERE term = :term"), {"term": term}
        ).scalar()
        if doc:
            counts[term] = doc
    rarest = sorted(counts, key=lambda t: (counts[t], t))[:RAREST_TRIGRAMS]
    if not rarest:
        return []
    match = " OR ".join('"' + term.replace('"', '""') + '"' for term in rarest)
    matches = (
        select(
            complaint_text.c.complaint_id,
            complaint_text.c.category,
            complaint_text.c.description,
            literal(0.0).label("score"),
        )
        .where(text("complaint_text MATCH :match"), complaint_text.c.complaint_id != exclude)
        .order_by(text("rank"))
        .limit(CANDIDATES * 4)
        .subquery()
    )
    rows = connection.execute(_resolved(matches).limit(CANDIDATES), {"match": match}).mappings()
    scored = [
        {**row, "score": trigram_similarity(wanted, trigrams(row["description"]))} for row in rows
    ]
    return [row for row in scored if row["score"] >= MIN_SCORE]


def _postgresql_candidates(
    connection: Connection, description: str, exclude: str
) -> list[dict[str, Any]]:
    """pg_trgm: `%` finds candidates through the GIN index, `similarity` scores them."""
    connection.execute(
        text("SELECT set_config('pg_trgm.similarity_threshold', :t, true)"),
        {"t": str(MIN_SCORE)},
    )
    score = func.similarity(complaint_text.c.description, description)
    matches = (
        select(
            complaint_text.c.complaint_id,
            complaint_text.c.category,
            complaint_text.c.description,
            score.label("score"),
        )
        .where(complaint_text.c.description.op("%")(description))
        .where(complaint_text.c.complaint_id != exclude)
        .order_by(score.desc())
        .limit(CANDIDATES * 4)
        .subquery()
    )
    rows = connection.execute(_resolved(matches).limit(CANDIDATES)).mappings()
    return [dict(row) for row in rows]


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


class SimilarCases(BaseModel):
    """`GET /complaints/{id}/similar` and `complaintflow similar ID --format json`."""

    complaint_id: str
    similar: list[SimilarCase]


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
            select(complaint_text.c.category, complaint_text.c.description).where(
                complaint_text.c.complaint_id == target
            )
        ).first()
        if row is None:
            stored = connection.scalar(
                select(complaints_t.c.complaint_id).where(complaints_t.c.complaint_id == target)
            )
            return None if stored is None else SimilarCases(complaint_id=target, similar=[])
        cases = similar_to(connection, row.description, Category(row.category), target, limit)
    return SimilarCases(complaint_id=target, similar=cases)
