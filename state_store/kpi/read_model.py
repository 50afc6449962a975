"""The KPI read model in the store: written by the batch's transaction from the entries the
batch writes to history, back-filled from history by migration 0005 (and for stores filled
without the engine), both through the one fold of engine/reporting/read_model.py.

A batch writes at most seven statements, each one executemany: new rows inserted, and for
complaints that existed before the batch an update that adds its folded facts to theirs.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    case,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from complaintflow.engine.core.batch import BatchChanges
from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.reporting.read_model import (
    CAUSE_COLUMNS,
    FOLDED_TYPES,
    LEVEL_COLUMNS,
    ComplaintColumns,
    HistoryFold,
    complaint_row,
    fold_history,
)
from complaintflow.state_store.bulk import BulkStatement
from complaintflow.state_store.tables import (
    complaints_t,
    history_t,
    kpi_agents_t,
    kpi_complaints_t,
    kpi_requests_t,
    kpi_revisits_t,
)

BACK_FILL_CHUNK = 10_000
"""Complaints folded per round of the back-fill: bounded memory on a store of any size."""
_COUNTED = (*LEVEL_COLUMNS.values(), *CAUSE_COLUMNS.values())
_FIXED = {"complaint_id", "received_us", "category", *_COUNTED}

_complaint = kpi_complaints_t.c
_insert_complaints = BulkStatement(insert(kpi_complaints_t))
_update_complaints = BulkStatement(
    update(kpi_complaints_t)
    .where(_complaint.complaint_id == bindparam("k_id"))
    .values(
        {c.name: bindparam(c.name) for c in kpi_complaints_t.c if c.name not in _FIXED}
        | {name: _complaint[name] + bindparam(name) for name in _COUNTED}
        | {
            "first_response_breached": or_(
                _complaint.first_response_breached, bindparam("first_response_breached")
            ),
            "closed_loop": func.coalesce(bindparam("closed_loop"), _complaint.closed_loop),
        }
    )
)
_insert_requests = BulkStatement(insert(kpi_requests_t))
_request = kpi_requests_t.c
_replied = bindparam("s_replied", type_=_request.latency_ms.type)
_settle_requests = BulkStatement(
    update(kpi_requests_t)
    .where(
        _request.complaint_id == bindparam("s_id"),
        _request.department == bindparam("s_dep"),
        _request.awaiting,
    )
    .values(
        latency_ms=_replied - _request.asked_ms,
        within=case(
            (and_(_request.due_ms.is_not(None), _replied <= _request.due_ms), true()),
            else_=false(),
        ),
        awaiting=false(),
    )
)
_insert_revisits = BulkStatement(insert(kpi_revisits_t))
_revisit = kpi_revisits_t.c
_delay = bindparam("f_at", type_=_revisit.revisited_ms.type) - _revisit.revisited_ms
_follow_up_revisits = BulkStatement(
    update(kpi_revisits_t)
    .where(_revisit.complaint_id == bindparam("f_id"))
    .values(
        follow_up_ms=case(
            (or_(_revisit.follow_up_ms.is_(None), _revisit.follow_up_ms > _delay), _delay),
            else_=_revisit.follow_up_ms,
        )
    )
)
# an agent who answers a complaint again, in a later batch, is already counted for it
_insert_agents = {
    "sqlite": BulkStatement(sqlite.insert(kpi_agents_t).on_conflict_do_nothing()),
    "postgresql": BulkStatement(postgresql.insert(kpi_agents_t).on_conflict_do_nothing()),
}


def columns_of(c: Complaint) -> ComplaintColumns:
    return ComplaintColumns(
        c.complaint_id,
        c.state,
        c.category.value,
        ",".join(c.channels),
        c.received_at,
        c.first_response_at,
        c.resolved_at,
        c.overdue,
        c.reopen_count,
    )


def write_batch(connection: Connection, changes: BatchChanges) -> None:
    """Fold the batch's history entries into the read model, in the batch's transaction."""
    fold = fold_history(changes.history)
    created: list[ComplaintColumns] = []
    updates: list[dict[str, Any]] = []
    for cid, complaint in sorted(changes.complaints.items()):
        if changes.loaded_versions[cid] is None:
            created.append(columns_of(complaint))
            continue
        row = complaint_row(columns_of(complaint), fold.facts.get(cid))
        row["k_id"] = cid
        updates.append(row)
    existed = {cid for cid, version in changes.loaded_versions.items() if version is not None}
    _update_complaints.execute(connection, updates)
    _settle_requests.execute(
        connection,
        [
            {"s_id": s.complaint_id, "s_dep": s.department, "s_replied": s.replied_ms}
            for s in fold.settled
            if s.complaint_id in existed
        ],
    )
    _follow_up_revisits.execute(
        connection,
        [{"f_id": cid, "f_at": at} for cid, at in fold.follow_ups.items() if cid in existed],
    )
    received = {row["complaint_id"]: row["received_us"] for row in updates}
    write_new(connection, created, fold, received)


def write_new(
    connection: Connection,
    complaints: Sequence[ComplaintColumns],
    fold: HistoryFold,
    received: dict[str, int] | None = None,
) -> None:
    """Insert the rows of `complaints` (new to the read model) and the requests, revisits and
    agents of `fold`; `received` holds received_us of the fold's other complaints."""
    rows = [complaint_row(c, fold.facts.get(c.complaint_id)) for c in complaints]
    received_us = (received or {}) | {row["complaint_id"]: row["received_us"] for row in rows}
    _insert_complaints.execute(connection, rows)
    _insert_requests.execute(connection, _with_received(fold.requests, received_us))
    _insert_revisits.execute(connection, _with_received(fold.revisits, received_us))
    _insert_agents[connection.dialect.name].execute(
        connection,
        [
            {"complaint_id": cid, "agent_id": agent, "received_us": received_us[cid]}
            for cid, agent in sorted(fold.agents)
        ],
    )


def _with_received(rows: Iterable[Any], received_us: dict[str, int]) -> list[dict[str, Any]]:
    return [{**row._asdict(), "received_us": received_us[row.complaint_id]} for row in rows]


def back_fill(connection: Connection, chunk: int = BACK_FILL_CHUNK) -> int:
    """Fill an empty read model from the complaints and their history, `chunk` complaints at
    a time in id order (a range of both primary keys); returns the complaints folded."""
    c, h = complaints_t.c, history_t.c
    done, after = 0, ""
    while True:
        complaints = [
            ComplaintColumns(*row)
            for row in connection.execute(
                select(*(c[name] for name in ComplaintColumns._fields))
                .where(c.complaint_id > after)
                .order_by(c.complaint_id)
                .limit(chunk)
            )
        ]
        if not complaints:
            return done
        last = complaints[-1].complaint_id
        # `type || ''`: a store without statistics (a migration runs before any ANALYZE) would
        # otherwise have SQLite read the chunk through the type index, every chunk of it
        # all over the table, instead of the primary key's range
        entries = connection.execute(
            select(h.complaint_id, h.version, h.type, h.occurred_at, h.payload)
            .where(
                h.complaint_id > after,
                h.complaint_id <= last,
                (h.type + literal("")).in_(sorted(t.value for t in FOLDED_TYPES)),
            )
            .order_by(h.complaint_id, h.version)
        )
        write_new(connection, complaints, fold_history(entries))
        done += len(complaints)
        after = last
