"""What the ops console's overview and search read from the store: open complaints by state
and department, the oldest open per department, deadlines about to pass, today's breaches,
escalations and dead letters. Read in one read-only transaction, each an aggregate or an
indexed, bounded query (the overview refreshes every few seconds)."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Engine, func, select

from complaintflow.engine.core.complaint import Complaint
from complaintflow.state_store.database import READ_ONLY
from complaintflow.state_store.tables import (
    aliases_t,
    complaints_t,
    history_t,
    inbox_t,
    outbox_t,
    timers_t,
)

SOON_LIMIT = 25
SEARCH_LIMIT = 50


@dataclass(frozen=True)
class Due:
    complaint_id: str
    deadline: str  # the timer's key without ".breach": first_response, collaboration.tech ...
    due_at: datetime
    priority: str
    department: str


@dataclass(frozen=True)
class Oldest:
    department: str
    complaint_id: str
    received_at: datetime
    open_complaints: int


@dataclass(frozen=True)
class Overview:
    open_by_state: dict[str, int]
    open_by_department: dict[str, int]
    oldest: list[Oldest]
    due_soon: list[Due]
    breaches_today: int
    escalations_today: int
    dead_letters_today: int
    outbox_backlog: int


@dataclass(frozen=True)
class Found:
    complaint_id: str
    state: str
    priority: str
    department: str
    customer_id: str
    order_id: str | None
    received_at: datetime


def overview(
    engine: Engine, closed: Collection[str], now: datetime, soon_until: datetime, day: datetime
) -> Overview:
    """Open complaints are those not in `closed` states; "soon" is a breach timer due
    before `soon_until`, overdue ones (not fired yet: a sweeper behind) first; "today"
    starts at `day` (midnight of the business calendar)."""
    c = complaints_t.c
    is_open = c.state.not_in(list(closed))
    with engine.connect().execution_options(**READ_ONLY) as connection:
        by_state = _counts(connection, c.state, is_open)
        by_department = _counts(connection, c.department, is_open)
        oldest = _oldest(connection, is_open)
        due = _due_soon(connection, is_open, soon_until)
        today = _history_today(connection, day)
        dead = connection.scalar(
            select(func.count())
            .select_from(inbox_t)
            .where(inbox_t.c.processed_at >= day, inbox_t.c.outcome == "refused")
        )
        backlog = connection.scalar(
            select(func.count()).select_from(outbox_t).where(outbox_t.c.sent_at.is_(None))
        )
    return Overview(
        open_by_state=by_state,
        open_by_department=by_department,
        oldest=oldest,
        due_soon=due,
        breaches_today=today.get("sla.breached", 0),
        escalations_today=today.get("complaint.escalated", 0),
        dead_letters_today=dead or 0,
        outbox_backlog=backlog or 0,
    )


def search(engine: Engine, text: str) -> list[Found]:
    """Complaints whose id starts with `text`, or whose customer id or order id is `text`,
    newest first. Three lookups, each on an index (the id's as a range, then checked as a
    prefix: a linguistic collation may order other strings inside the range)."""
    c = complaints_t.c
    columns = (
        c.complaint_id,
        c.state,
        c.priority,
        c.department,
        c.customer_id,
        c.order_id,
        c.received_at,
    )
    lookups = [
        select(*columns).where(c.complaint_id >= text, c.complaint_id < text + "\U0010ffff"),
        select(*columns).where(c.customer_id == text),
        select(*columns).where(c.order_id == text),
    ]
    found: dict[str, Found] = {}
    with engine.connect().execution_options(**READ_ONLY) as connection:
        for query in lookups:
            for row in connection.execute(query.limit(SEARCH_LIMIT)):
                hit = Found(**row._mapping)
                if hit.complaint_id.startswith(text) or text in (hit.customer_id, hit.order_id):
                    found[hit.complaint_id] = hit
    newest = sorted(found.values(), key=lambda f: (f.received_at, f.complaint_id), reverse=True)
    return newest[:SEARCH_LIMIT]


def live_deadlines(engine: Engine, complaint_id: str) -> dict[str, datetime | None]:
    """The due time of each deadline the complaint still runs (by key), from its state."""
    with engine.connect().execution_options(**READ_ONLY) as connection:
        aggregate = connection.scalar(
            select(complaints_t.c.aggregate).where(complaints_t.c.complaint_id == complaint_id)
        )
    if aggregate is None:
        return {}
    return {d.key: d.due_at for d in Complaint.model_validate_json(aggregate).deadlines}


def merged_into(engine: Engine, complaint_id: str) -> list[str]:
    """The ids of the other channels' reports merged into this complaint."""
    with engine.connect().execution_options(**READ_ONLY) as connection:
        return list(
            connection.scalars(
                select(aliases_t.c.merged_id)
                .where(aliases_t.c.complaint_id == complaint_id)
                .order_by(aliases_t.c.merged_id)
            )
        )


def _counts(
    connection: Connection, column: ColumnElement[str], is_open: ColumnElement[bool]
) -> dict[str, int]:
    rows = connection.execute(
        select(column, func.count()).where(is_open).group_by(column).order_by(column)
    )
    return {key: n for key, n in rows}


def _oldest(connection: Connection, is_open: ColumnElement[bool]) -> list[Oldest]:
    c = complaints_t.c
    ranked = (
        select(
            c.department,
            c.complaint_id,
            c.received_at,
            func.row_number()
            .over(partition_by=c.department, order_by=(c.received_at, c.complaint_id))
            .label("rank"),
            func.count().over(partition_by=c.department).label("open_complaints"),
        )
        .where(is_open)
        .subquery()
    )
    rows = connection.execute(
        select(
            ranked.c.department,
            ranked.c.complaint_id,
            ranked.c.received_at,
            ranked.c.open_complaints,
        )
        .where(ranked.c.rank == 1)
        .order_by(ranked.c.received_at)
    )
    return [Oldest(**row._mapping) for row in rows]


def _due_soon(connection: Connection, is_open: ColumnElement[bool], until: datetime) -> list[Due]:
    t, c = timers_t.c, complaints_t.c
    rows = connection.execute(
        select(t.complaint_id, t.key, t.due_at, c.priority, c.department)
        .join(complaints_t, c.complaint_id == t.complaint_id)
        .where(t.key.endswith(".breach"), t.due_at < until, is_open)
        .order_by(t.due_at, t.complaint_id)
        .limit(SOON_LIMIT)
    )
    return [
        Due(
            complaint_id=cid,
            deadline=key.removesuffix(".breach"),
            due_at=due_at,
            priority=priority,
            department=department,
        )
        for cid, key, due_at, priority, department in rows
    ]


def _history_today(connection: Connection, day: datetime) -> dict[str, int]:
    h = history_t.c
    rows = connection.execute(
        select(h.type, func.count())
        .where(h.type.in_(["sla.breached", "complaint.escalated"]), h.occurred_at >= day)
        .group_by(h.type)
    )
    return {type_: n for type_, n in rows}
