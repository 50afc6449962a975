"""Due timers, claimed by one sweeper at a time.

A claim is a lease (`claimed_until`): a sweeper that dies after claiming and before
publishing leaves timers that come due again once the lease expires. PostgreSQL claims with
FOR UPDATE SKIP LOCKED so concurrent sweepers take disjoint rows; SQLite has one writer at a
time (BEGIN IMMEDIATE), which is equally safe.
"""

from datetime import datetime, timedelta

from sqlalchemy import Engine, bindparam, or_, select, update

from complaintflow.engine.ports import DueTimer
from complaintflow.state_store.tables import timers_t


class SqlAlchemyTimers:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim_due(self, now: datetime, limit: int, owner: str, lease: timedelta) -> list[DueTimer]:
        """Claim up to `limit` timers due by `now` that nobody holds a live lease on."""
        free = or_(timers_t.c.claimed_until.is_(None), timers_t.c.claimed_until < now)
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(timers_t.c.complaint_id, timers_t.c.key, timers_t.c.due_at)
                .where(timers_t.c.due_at <= now, free)
                .order_by(timers_t.c.due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            due = [DueTimer(cid, key, due_at) for cid, key, due_at in rows]
            if due:  # keyed updates: a row-value IN list is a scan on PostgreSQL
                connection.execute(
                    update(timers_t)
                    .where(
                        timers_t.c.complaint_id == bindparam("t_id"),
                        timers_t.c.key == bindparam("t_key"),
                    )
                    .values(claimed_until=now + lease, claimed_by=owner),
                    [{"t_id": t.complaint_id, "t_key": t.key} for t in due],
                )
        return due
