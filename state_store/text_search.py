"""Candidates for similar cases from the text index, one way per backend.

SQLite: `complaint_text` is an FTS5 table with the trigram tokenizer. A description's
trigrams are looked up in the index's vocabulary (`complaint_text_terms`) and the rarest
that other descriptions share are OR-ed into a MATCH, ranked by bm25; their similarity to
the query is computed on these few rows: shared trigrams over all trigrams (Jaccard) of the
case-folded, NFKC-normalised three-character windows, spaces and punctuation included.

PostgreSQL: the nearest descriptions by pg_trgm's trigram distance, walked in distance
order on a GiST index, scored by its `similarity`: the same idea on word-padded trigrams of
letters and digits, which needs a database whose LC_CTYPE is a UTF-8 locale for Chinese
letters to count. (Its GIN index serves `%` and LIKE lookups.)
"""

import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.sql import Subquery

from complaintflow.state_store.tables import complaints_t

complaint_text = table(
    "complaint_text", column("complaint_id"), column("category"), column("description")
)
RESOLVED_STATES = ("resolved", "revisited", "archived")
CANDIDATES = 50  # resolved candidates, best by the index first
PROBED_TRIGRAMS = 48  # SQLite: trigrams of a long description looked up, evenly spread
RAREST_TRIGRAMS = 12  # SQLite: the rarest shared trigrams that make the MATCH
MIN_SCORE = 0.1  # similarity below which a description is no precedent


def trigrams(value: str) -> set[str]:
    folded = unicodedata.normalize("NFKC", value).casefold()
    return {folded[i : i + 3] for i in range(len(folded) - 2)}


def trigram_similarity(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def sqlite_candidates(
    connection: Connection,
    description: str,
    exclude: str,
    indexed: bool,
    deadline: float | None,
) -> list[dict[str, Any]]:
    """`indexed`: the description is in the index itself (as `exclude`'s), so each of its
    trigrams counts one document more than the other descriptions that share it. Past
    `deadline` (monotonic) nothing is looked up."""
    wanted = trigrams(description)
    ordered = sorted(wanted)
    probed = ordered[:: max(1, len(ordered) // PROBED_TRIGRAMS)][:PROBED_TRIGRAMS]
    if deadline is not None and time.monotonic() > deadline:
        return []
    # one statement for every probed trigram: the vocabulary answers an IN list as one
    # lookup per term, and 48 separate statements cost more in Python than in SQLite
    counted = connection.execute(
        text("SELECT term, doc FROM complaint_text_terms WHERE term IN :terms").bindparams(
            bindparam("terms", expanding=True)
        ),
        {"terms": probed},
    )
    own = 1 if indexed else 0
    shared = {term: docs - own for term, docs in counted if docs - own > 0}
    rarest = sorted(shared, key=lambda t: (shared[t], t))[:RAREST_TRIGRAMS]
    if not rarest:
        return []
    matches = (
        select(
            complaint_text.c.complaint_id,
            complaint_text.c.category,
            complaint_text.c.description,
            literal_column("rank").label("rank"),
        )
        .where(text("complaint_text MATCH :match"), complaint_text.c.complaint_id != exclude)
        .order_by(literal_column("rank"))
        .limit(CANDIDATES * 4)
        .subquery()
    )
    match = " OR ".join('"' + term.replace('"', '""') + '"' for term in rarest)
    query = _resolved(matches, matches.c.rank)
    scored = [
        {**row, "score": trigram_similarity(wanted, trigrams(row["description"]))}
        for row in connection.execute(query, {"match": match}).mappings()
    ]
    return [row for row in scored if row["score"] >= MIN_SCORE]


def postgresql_candidates(connection: Connection, description: str, exclude: str) -> list[Any]:
    """The nearest descriptions first, by pg_trgm's trigram distance (`<->`, a walk of the
    GiST index in distance order: no need to read every description that shares a few
    trigrams with this one), scored by `similarity` (1 - distance)."""
    score = func.similarity(complaint_text.c.description, description)
    nearest = (
        select(
            complaint_text.c.complaint_id,
            complaint_text.c.category,
            complaint_text.c.description,
            score.label("score"),
        )
        .where(complaint_text.c.complaint_id != exclude)
        .order_by(complaint_text.c.description.op("<->")(description))
        .limit(CANDIDATES * 4)
        .subquery()
    )
    query = _resolved(nearest, nearest.c.score.desc())
    return [dict(row) for row in connection.execute(query).mappings() if row["score"] >= MIN_SCORE]


@contextmanager
def statement_timeout(connection: Connection, deadline: float | None) -> Iterator[None]:
    """PostgreSQL: each statement inside is cancelled once it runs past `deadline`
    (monotonic); the setting before is restored after. Use inside a savepoint, so that a
    cancelled statement leaves the surrounding transaction usable."""
    if deadline is None or connection.dialect.name == "sqlite":
        yield
        return
    before = connection.execute(text("SELECT current_setting('statement_timeout')")).scalar()
    left_ms = max(1, int((deadline - time.monotonic()) * 1000))
    connection.execute(
        text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(left_ms)}
    )
    yield
    connection.execute(
        text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(before)}
    )


def _resolved(candidates: Subquery, best_first: ColumnElement[Any]) -> Select[Any]:
    """The candidates that are resolved, with their times, best first."""
    c = complaints_t.c
    return (
        select(candidates, c.received_at, c.resolved_at)
        .join(complaints_t, c.complaint_id == candidates.c.complaint_id)
        .where(c.state.in_(RESOLVED_STATES), c.resolved_at.is_not(None))
        .order_by(best_first)
        .limit(CANDIDATES)
    )
