"""The outbox relay: publishes unsent rows of the partitions this worker owns, then marks
them sent. It runs on the consumer's thread between polls, so when a partition is revoked
nothing of it is in flight, and the next owner starts from the oldest unsent row: a
complaint's versions reach the event log in order, with duplicates at worst (consumers dedupe
by event_id), never gaps or reordering.

No row can hold up the others. A row the broker refuses for good (too large for it) is moved
aside: its dead letter goes to the DLQ and the row is marked sent, so the rows after it go on
and nothing before it is published again. A row that fails for any other reason stops the rows
of its key (its complaint) that follow it: they are not marked sent, and go again after it, in
order. When nothing at all went out, the whole relay backs off; when other rows went out, only
the failed keys wait, so one complaint's trouble never slows the others.
"""

import logging
import random
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from complaintflow.engine.core.backoff import compute_backoff
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.ports import Clock, Outbox, OutboxRow, Publisher, SendFailure
from complaintflow.producers.unpublishable import UnpublishableRow

log = logging.getLogger(__name__)

RETENTION = timedelta(hours=1)
"""Sent rows are kept this long for inspection, then deleted (history keeps the facts)."""
PURGE_EVERY_S = 1.0
PURGE_IDLE_S = 60.0
PURGE_ROWS = 5000
"""Each purge looks at this many of the oldest rows: a few milliseconds on the consumer's
thread, not a scan of an hour's rows (5 million at 1,000 events/s). While purges find a full
head to delete they run once a second, faster than a worker writes rows; otherwise once a
minute, so a purge that finds nothing (which may have to read past other partitions' rows
to know) costs no more than the one-a-minute purge before it."""

Key = bytes | None


@dataclass
class _Attempt:
    """What one publish of a batch of rows came to."""

    published: list[int] = field(default_factory=list)
    moved_aside: list[int] = field(default_factory=list)
    failed: dict[Key, str] = field(default_factory=dict)
    """The keys with a row to send again, and the first reason."""
    ahead: set[Key] = field(default_factory=set)
    """Failed keys with a later row acknowledged all the same: sent again, it is a duplicate."""
    keys: set[Key] = field(default_factory=set)

    @property
    def progressed(self) -> bool:
        return bool(self.published or self.moved_aside)


@dataclass
class OutboxRelay:
    outbox: Outbox
    publisher: Publisher
    clock: Clock
    batch: int = 2000
    dead_letter_topic: str = Topics().dlq
    """The DLQ of the worker's topic prefix (bootstrap passes it)."""
    failures: int = 0
    published: int = 0
    unpublishable: int = 0
    """Rows moved aside to the DLQ: alert-worthy (the worker's `outbox_unpublishable_total`)."""
    retry_at: float = 0.0
    monotonic: Callable[[], float] = time.monotonic
    """Backoff and budgets are measured on this, not on the business clock."""
    _jitter: random.Random = field(default_factory=random.Random)
    purge_rows: int = PURGE_ROWS
    _next_purge: float = 0.0
    _held: set[Key] = field(default_factory=set)
    """Keys whose oldest unsent row failed (see `_went_on`): their rows wait until
    `_held_until`, then that row goes alone, so the rows behind it are not published again
    and again while it keeps failing."""
    _held_until: float = 0.0

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
            sendable = self._sendable(rows)
            if not sendable:
                break
            attempt = self._publish(sendable)
            sent += len(attempt.published)
            if not self._went_on(attempt):
                break
            if len(rows) < self.batch and len(sendable) == len(rows):
                break  # all there was has been tried
        self.published += sent
        self._purge(partitions)
        return sent

    def _sendable(self, rows: Sequence[OutboxRow]) -> list[OutboxRow]:
        """The rows to send now: of a held key, none before `_held_until`, then its first."""
        if not rows:
            self._held.clear()
        if not self._held:
            return list(rows)
        waiting = self.monotonic() < self._held_until
        firsts: set[Key] = set()
        sendable = []
        for row in rows:
            key = row[2]
            if key in self._held:
                if waiting or key in firsts:
                    continue
                firsts.add(key)
            sendable.append(row)
        return sendable

    def _publish(self, rows: Sequence[OutboxRow]) -> _Attempt:
        failures = self.publisher.deliver([(topic, key, value) for _, topic, key, value in rows])
        attempt = _Attempt(keys={row[2] for row in rows})
        refused: list[tuple[OutboxRow, SendFailure]] = []
        for index, row in enumerate(rows):
            key = row[2]
            failure = failures.get(index)
            if failure is None:
                # acknowledged after a failed row of its key: not sent, it goes again after it
                if key in attempt.failed:
                    attempt.ahead.add(key)
                else:
                    attempt.published.append(row[0])
            elif failure.permanent:
                refused.append((row, failure))
            else:
                attempt.failed.setdefault(key, failure.reason)
        self._move_aside(refused, attempt)
        if attempt.progressed:
            self.outbox.mark_sent(attempt.published + attempt.moved_aside, self.clock.now())
            self.unpublishable += len(attempt.moved_aside)
        return attempt

    def _move_aside(self, refused: Sequence[tuple[OutboxRow, SendFailure]], into: _Attempt) -> None:
        """Publish each refused row's dead letter; a row whose dead letter is acknowledged is
        marked sent with the others, one whose dead letter failed stays for the next try."""
        if not refused:
            return
        failures = self.publisher.deliver(
            [
                (self.dead_letter_topic, row[2], UnpublishableRow.of(row, why).json_bytes())
                for row, why in refused
            ]
        )
        for index, (row, why) in enumerate(refused):
            if index in failures:
                into.failed.setdefault(row[2], f"its dead letter: {failures[index].reason}")
                continue
            into.moved_aside.append(row[0])
            log.error(
                "outbox row %d for %s is unpublishable (%s): moved to %s",
                row[0],
                row[1],
                why.reason,
                self.dead_letter_topic,
            )

    def _went_on(self, attempt: _Attempt) -> bool:
        """Whether the drain may go on after `attempt`; sets the backoff when a row failed.

        A failed key is held (its rows wait, then its first goes alone) when other rows went
        out, when a later row of it was acknowledged anyway, or when it was held already: in
        each case sending all its rows again would publish the ones behind it again."""
        if not attempt.failed:
            self.failures = 0
            self._held -= attempt.keys
            return True
        self.failures += 1
        delay = compute_backoff(self.failures, base=0.2, cap=10.0, jitter=self._jitter)
        held = {
            key
            for key in attempt.failed
            if attempt.progressed or key in attempt.ahead or key in self._held
        }
        self._held = (self._held - attempt.keys) | held
        self._held_until = self.monotonic() + delay
        reason = next(iter(attempt.failed.values()))
        if attempt.progressed:
            log.warning(
                "outbox relay: rows of %d keys not acknowledged (%s); they go again in %.1f s",
                len(attempt.failed),
                reason,
                delay,
            )
            return True
        self.retry_at = self._held_until
        log.warning("outbox relay: %s; retrying in %.1f s", reason, delay)
        return False

    def _purge(self, partitions: Collection[int]) -> None:
        if self.monotonic() < self._next_purge:
            return
        cutoff = self.clock.now() - RETENTION
        purged = self.outbox.purge_sent(partitions, cutoff, self.purge_rows)
        self._next_purge = self.monotonic() + (
            PURGE_EVERY_S if purged >= self.purge_rows else PURGE_IDLE_S
        )
