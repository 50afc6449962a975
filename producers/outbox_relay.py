"""The outbox relay: publishes unsent rows of the partitions this worker owns, then marks
them sent. It runs on the consumer's thread between polls, so when a partition is revoked
nothing of it is in flight, and the next owner starts from the oldest unsent row: a
complaint's versions reach the event log in order, with duplicates at worst (consumers dedupe
by event_id), never gaps or reordering.
"""

import logging
import random
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import timedelta

from complaintflow.engine.core.backoff import compute_backoff
from complaintflow.engine.errors import BrokerUnavailable
from complaintflow.engine.ports import Clock, Outbox, Publisher

log = logging.getLogger(__name__)

RETENTION = timedelta(hours=1)
"""Sent rows are kept this long for inspection, then deleted (history keeps the facts)."""


@dataclass
class OutboxRelay:
    outbox: Outbox
    publisher: Publisher
    clock: Clock
    batch: int = 2000
    failures: int = 0
    published: int = 0
    retry_at: float = 0.0
    monotonic: Callable[[], float] = time.monotonic
    """Backoff and budgets are measured on this, not on the business clock."""
    _jitter: random.Random = field(default_factory=random.Random)
    _last_purge: float = 0.0

    def drain(self, partitions: Collection[int], budget_s: float = 2.0) -> int:
        """Publish what is pending for about `budget_s` at most; returns rows published.

        The budget keeps the consumer polling well within max_poll_interval_ms under a
        backlog; while the broker is failing, calls return at once until the backoff delay
        has passed.
        """
        if self.monotonic() < self.retry_at:
            return 0
        sent = 0
        deadline = self.monotonic() + budget_s
        while self.monotonic() < deadline:
            rows = self.outbox.unsent(partitions, self.batch)
            if not rows:
                break
            try:
                self.publisher.publish([(topic, key, value) for _, topic, key, value in rows])
            except BrokerUnavailable as exc:
                self.failures += 1
                delay = compute_backoff(self.failures, base=0.2, cap=10.0, jitter=self._jitter)
                self.retry_at = self.monotonic() + delay
                log.warning("outbox relay: %s; retrying in %.1f s", exc, delay)
                return sent
            self.failures = 0
            self.outbox.mark_sent([row[0] for row in rows], self.clock.now())
            sent += len(rows)
            if len(rows) < self.batch:
                break
        self.published += sent
        self._purge()
        return sent

    def _purge(self) -> None:
        if self.monotonic() - self._last_purge > 60:
            self._last_purge = self.monotonic()
            self.outbox.purge_sent(self.clock.now() - RETENTION)
