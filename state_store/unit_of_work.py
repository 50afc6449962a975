"""The unit of work over SQLAlchemy Core: one transaction per polled batch.

It rolls back unless `commit` is called. Unique keys (inbox, history version, open order) and
the version check on complaints turn a race with another worker into `ConcurrencyConflict`,
and a database that cannot be used just now (see `store_outage`) into `StoreUnavailable`:
the consumer loop holds its batch through the one, and decides it again after the other.
"""

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, select, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from complaintflow.engine.core.batch import BatchChanges
from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.payloads import SimilarCase
from complaintflow.engine.core.vocabulary import Category
from complaintflow.engine.errors import ConcurrencyConflict, StoreUnavailable
from complaintflow.engine.ports import Clock
from complaintflow.state_store import batch_statements as stmt
from complaintflow.state_store.columns import complaint_columns, history_columns
from complaintflow.state_store.database import store_failure
from complaintflow.state_store.kpi.read_model import write_batch as write_kpi_read_model
from complaintflow.state_store.similar_cases import (
    PRECEDENT_BUDGET,
    index_complaints,
    similar_for,
)
from complaintflow.state_store.tables import (
    aliases_t,
    chunks,
    complaints_t,
    inbox_t,
    open_orders_t,
)

_RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


class SqlAlchemyUnitOfWork:
    def __init__(
        self, connection: Connection, clock: Clock, precedent_budget: timedelta = PRECEDENT_BUDGET
    ) -> None:
        self.connection = connection
        self.clock = clock
        self.precedent_budget = precedent_budget

    def seen(self, keys: Collection[str]) -> set[str]:
        found: set[str] = set()
        for chunk in chunks(keys):
            found.update(
                self.connection.scalars(
                    select(inbox_t.c.message_key).where(inbox_t.c.message_key.in_(chunk))
                )
            )
        return found

    def resolve_aliases(self, complaint_ids: Collection[str]) -> dict[str, str]:
        resolved: dict[str, str] = {}
        for chunk in chunks(complaint_ids):
            rows = self.connection.execute(
                select(aliases_t.c.merged_id, aliases_t.c.complaint_id).where(
                    aliases_t.c.merged_id.in_(chunk)
                )
            )
            resolved.update({merged: into for merged, into in rows})
        return resolved

    def load(self, complaint_ids: Collection[str]) -> dict[str, Complaint]:
        loaded: dict[str, Complaint] = {}
        for chunk in chunks(complaint_ids):
            rows = self.connection.execute(
                select(complaints_t.c.aggregate).where(complaints_t.c.complaint_id.in_(chunk))
            )
            for (aggregate,) in rows:
                complaint = Complaint.model_validate_json(aggregate)
                loaded[complaint.complaint_id] = complaint
        return loaded

    def open_orders(self, pairs: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Selected by customer (the key's first column, so an index range on every backend;
        a row-value IN list is a scan on PostgreSQL), then narrowed to the asked pairs."""
        wanted = set(pairs)
        found: dict[tuple[str, str], str] = {}
        for chunk in chunks({customer for customer, _ in wanted}):
            rows = self.connection.execute(
                select(
                    open_orders_t.c.customer_id,
                    open_orders_t.c.order_id,
                    open_orders_t.c.complaint_id,
                ).where(open_orders_t.c.customer_id.in_(chunk))
            )
            found.update({(c, o): cid for c, o, cid in rows if (c, o) in wanted})
        return found

    def similar_cases(
        self, subjects: Mapping[str, tuple[Category, str, bool]], limit: int
    ) -> dict[str, tuple[SimilarCase, ...]]:
        return similar_for(self.connection, subjects, limit, self.precedent_budget)

    def write(self, changes: BatchChanges) -> None:
        try:
            self._write(changes)
        except IntegrityError as exc:
            raise ConcurrencyConflict(
                f"another worker got there first: {_first_line(exc)}"
            ) from None
        except OperationalError as exc:
            if _lost_race(exc):
                raise ConcurrencyConflict(f"transaction lost a race: {_first_line(exc)}") from None
            raise

    def _write(self, changes: BatchChanges) -> None:
        now = self.clock.now()
        connection = self.connection
        created = [
            c for cid, c in changes.complaints.items() if changes.loaded_versions[cid] is None
        ]
        if created:
            stmt.insert_complaints.execute(connection, [complaint_columns(c, now) for c in created])
            index_complaints(connection, created)
        updates = [  # in id order, so two batches lock shared complaints in the same order
            {**complaint_columns(c, now), "expected_id": cid, "expected_version": expected}
            for cid, c in sorted(changes.complaints.items())
            if (expected := changes.loaded_versions[cid]) is not None
        ]
        if updates:
            self._update_complaints(updates)
        if changes.inbox:
            stmt.insert_inbox.execute(
                connection,
                [
                    {
                        "message_key": e.key,
                        "complaint_id": e.complaint_id,
                        "outcome": e.outcome,
                        "processed_at": now,
                    }
                    for e in changes.inbox
                ],
            )
        if changes.history:
            stmt.insert_history.execute(
                connection, [history_columns(e, now) for e in changes.history]
            )
        if changes.outbox:
            stmt.insert_outbox.execute(
                connection,
                [
                    {
                        "partition": m.partition,
                        "topic": m.topic,
                        "key": m.key,
                        "value": m.value,
                        "created_at": now,
                        "sent_at": None,
                    }
                    for m in changes.outbox
                ],
            )
        self._write_timers(changes)
        if changes.aliases:
            stmt.insert_aliases.execute(
                connection,
                [{"merged_id": m, "complaint_id": c} for m, c in changes.aliases.items()],
            )
        self._write_open_orders(changes)
        write_kpi_read_model(connection, changes)

    def _update_complaints(self, updates: list[dict[str, Any]]) -> None:
        """One executemany; the summed row count tells whether any version had moved on."""
        if self.connection.dialect.supports_sane_multi_rowcount:
            changed = stmt.update_complaint.execute(self.connection, updates)
        else:
            changed = sum(stmt.update_complaint.execute(self.connection, [row]) for row in updates)
        if changed != len(updates):
            raise ConcurrencyConflict(
                f"{len(updates) - changed} of {len(updates)} complaints changed since read"
            )

    def _write_timers(self, changes: BatchChanges) -> None:
        if changes.timers_fired:
            stmt.delete_fired_timers.execute(
                self.connection,
                [
                    {"fired_id": cid, "fired_key": key, "fired_due": due}
                    for cid, key, due in changes.timers_fired
                ],
            )
        # Only complaints that existed before the batch can have rows to replace; one keyed
        # delete per timer uses the primary key (a row-value IN list is a scan on PostgreSQL).
        touched = sorted(
            (cid, key)
            for cid, key in changes.timers_cancelled | set(changes.timers_set)
            if changes.loaded_versions.get(cid) is not None
        )
        if touched:
            stmt.delete_timers.execute(
                self.connection, [{"t_id": cid, "t_key": key} for cid, key in touched]
            )
        if changes.timers_set:
            stmt.insert_timers.execute(
                self.connection,
                [
                    {
                        "complaint_id": cid,
                        "key": k,
                        "due_at": t.due_at,
                        "claimed_until": None,
                        "claimed_by": None,
                    }
                    for (cid, k), t in changes.timers_set.items()
                ],
            )

    def _write_open_orders(self, changes: BatchChanges) -> None:
        """Insert a new pair (a rival's insert is a unique violation) and replace a pair only if
        it still names the complaint this batch read (a row count of 0 means another worker
        changed it first, and the batch is decided again)."""
        t = open_orders_t
        pair_is = (t.c.customer_id == bindparam("p_customer"), t.c.order_id == bindparam("p_order"))
        was = t.c.complaint_id == bindparam("p_was")
        new: list[dict[str, Any]] = []
        moved: list[dict[str, Any]] = []
        closed: list[dict[str, Any]] = []
        for (customer, order), (cid, at) in changes.open_orders.items():
            read = changes.orders_read.get((customer, order))
            row = {
                "p_customer": customer,
                "p_order": order,
                "p_cid": cid,
                "p_at": at,
                "p_was": read,
            }
            (new if read is None else moved).append(row)
        for (customer, order), cid in changes.closed_orders.items():
            closed.append({"p_customer": customer, "p_order": order, "p_was": cid})
        if new:
            stmt.insert_open_orders.execute(
                self.connection,
                [
                    {
                        "customer_id": r["p_customer"],
                        "order_id": r["p_order"],
                        "complaint_id": r["p_cid"],
                        "received_at": r["p_at"],
                    }
                    for r in new
                ],
            )
        for row in moved:
            result = self.connection.execute(
                update(t)
                .where(*pair_is, was)
                .values(
                    complaint_id=bindparam("p_cid"),
                    received_at=bindparam("p_at", type_=t.c.received_at.type),
                ),
                row,
            )
            if result.rowcount != 1:
                raise ConcurrencyConflict(f"the open order of complaint {row['p_cid']} changed")
        if closed:  # only if it still names the archived complaint; else nothing to give up
            self.connection.execute(delete(t).where(*pair_is, was), closed)

    def commit(self) -> None:
        self.connection.commit()


class SqlAlchemyStore:
    def __init__(
        self, engine: Engine, clock: Clock, precedent_budget: timedelta = PRECEDENT_BUDGET
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.precedent_budget = precedent_budget

    @contextmanager
    def unit_of_work(self) -> Iterator[SqlAlchemyUnitOfWork]:
        """A transaction that is rolled back unless committed."""
        try:
            with self.engine.connect() as connection:
                connection.begin()  # on SQLite, BEGIN IMMEDIATE: waits for the write lock
                yield SqlAlchemyUnitOfWork(connection, self.clock, self.precedent_budget)
        except (DBAPIError, PoolTimeout) as exc:
            if isinstance(exc, OperationalError) and _lost_race(exc):  # a read lost the race
                raise ConcurrencyConflict(f"transaction lost a race: {_first_line(exc)}") from None
            reason = store_outage(exc, self.engine.url.render_as_string(hide_password=False))
            if reason is None:
                raise
            raise StoreUnavailable(reason) from None


def store_outage(exc: BaseException, url: str) -> str | None:
    """Why the database cannot be used just now, in one short line without the password, or
    None when `exc` says something about the batch instead: bad data (`DataError`), a race
    with another worker, or no database error at all (a bug in our code). An outage is
    retried until the database is back; an error in the batch would be the same on every
    retry. Failures the driver reports about its connection or the server's state count as
    outages (refused or broken connections, a server shutting down or starting, a locked
    SQLite file, a full disk, a read-only standby after a failover, a schema changed under
    the worker), since they hold for every event alike and must not dead-letter them."""
    if isinstance(exc, StoreUnavailable):
        return " ".join(str(exc).split())
    if isinstance(exc, PoolTimeout):
        return store_failure(exc, url)
    if not isinstance(exc, DBAPIError) or isinstance(exc, DataError | IntegrityError):
        return None
    if isinstance(exc, OperationalError) and _lost_race(exc):
        return None
    return store_failure(exc, url)


def _lost_race(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


def _first_line(exc: DBAPIError) -> str:
    """The driver's first line only: PostgreSQL's DETAIL line quotes the key's values
    (customer and order ids), which must not reach the log."""
    return str(exc.orig).strip().split("\n", 1)[0]
