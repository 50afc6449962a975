"""Outbox rows for the relay: unsent rows of the partitions this worker owns, in id order."""

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Engine, delete, select, update

from complaintflow.state_store.database import READ_ONLY
from complaintflow.state_store.tables import chunks, outbox_t


class SqlAlchemyOutbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def unsent(
        self, partitions: Collection[int], limit: int
    ) -> Sequence[tuple[int, str, bytes | None, bytes]]:
        if not partitions:
            return []
        with self.engine.connect().execution_options(**READ_ONLY) as connection:
            rows = connection.execute(
                select(outbox_t.c.id, outbox_t.c.topic, outbox_t.c.key, outbox_t.c.value)
                .where(outbox_t.c.sent_at.is_(None), outbox_t.c.partition.in_(list(partitions)))
                .order_by(outbox_t.c.id)
                .limit(limit)
            )
            return [(r.id, r.topic, r.key, r.value) for r in rows]

    def mark_sent(self, ids: Collection[int], at: datetime) -> None:
        with self.engine.begin() as connection:
            for chunk in chunks(ids):
                connection.execute(
                    update(outbox_t).where(outbox_t.c.id.in_(chunk)).values(sent_at=at)
                )

    def purge_sent(self, partitions: Collection[int], older_than: datetime, limit: int) -> int:
        """Sent rows are kept a while for inspection, then deleted (history keeps the facts).
        The head is read on the primary key: `sent_at` has no index (it would cost every
        mark_sent), and a filter on it would scan the whole table when nothing is old yet."""
        if not partitions:
            return 0
        oldest_first = (
            select(outbox_t.c.id, outbox_t.c.sent_at)
            .where(outbox_t.c.partition.in_(list(partitions)))
            .order_by(outbox_t.c.id)
        )
        with self.engine.begin() as connection:
            # rows are sent in about the order written: when the oldest was sent lately, nothing
            # is old yet (an unsent one, being retried, may have old rows behind it)
            first = connection.execute(oldest_first.limit(1)).first()
            if first is None or (first.sent_at is not None and first.sent_at >= older_than):
                return 0
            head = connection.execute(oldest_first.limit(limit))
            old = [r.id for r in head if r.sent_at is not None and r.sent_at < older_than]
            for chunk in chunks(old):
                connection.execute(delete(outbox_t).where(outbox_t.c.id.in_(chunk)))
            return len(old)
