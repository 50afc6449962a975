"""The inbound loop: poll a batch, process it in one transaction, commit offsets, relay.

Offsets are committed only after the batch's transaction, so a crash anywhere before that
redelivers the batch, and the inbox turns what was already applied into duplicates. All work
happens on this one thread; rebalance callbacks run inside `poll`, between batches.

A batch that cannot be applied is held, never dropped or skipped: the assigned partitions are
paused and the loop goes on polling (which fetches nothing then, but keeps the worker in its
group within max_poll_interval_ms) and retries the same records with backoff. A database
outage is retried until the database is back or the outage limit passes; an error in the
batch is retried a few times, then the batch is split in halves until the one event that
breaks it is found and dead-lettered as internal_error.
"""

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Collection
from contextlib import suppress
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from complaintflow.engine.core.backoff import compute_backoff
from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.errors import BrokerUnavailable, ConcurrencyConflict
from complaintflow.engine.ports import BatchApplier, OutageWatch, Relay

log = logging.getLogger(__name__)


BATCH_RETRIES = 3
"""How often a batch that fails (not an outage, not a conflict) is retried before it is split."""
OUTAGE_BACKOFF = (0.25, 2.0)
CONFLICT_BACKOFF = (0.25, 5.0)
FAILURE_BACKOFF = (0.5, 5.0)
"""(base, cap) in seconds of each cause's exponential backoff: an outage is retried at least
every 2 s, so the loop resumes within about 2 s of the database's return."""
APPLY_BUDGET_S = 1.0
"""Longest run of held parts between two polls (a poison event's halving takes several)."""
MAX_HELD_WAIT_S = 0.5
"""Longest poll while a batch is held: how soon a stop is seen during an outage."""
LAST_COMMIT_TIMEOUT_MS = 10_000


class _Rebalance(ConsumerRebalanceListener):
    def __init__(
        self,
        on_assigned: Callable[[], None],
        on_revoked: Callable[[Collection[TopicPartition]], None],
    ) -> None:
        self.on_assigned = on_assigned
        self.on_revoked = on_revoked

    def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        log.info("partitions revoked: %s", sorted(tp.partition for tp in revoked))
        self.on_revoked(revoked)

    def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        log.info("partitions assigned: %s", sorted(tp.partition for tp in assigned))
        self.on_assigned()


@dataclass
class _Part:
    """Consecutive records of the held batch, in poll order, applied in one transaction."""

    messages: list[InboundMessage]
    retries: int = BATCH_RETRIES
    """Failures still retried before the part is split (its halves get none)."""
    breaks_alone: Exception | None = None
    """Set on one record that failed on its own: it is dead-lettered with this error."""


@dataclass
class InboundLoop:
    consumer: KafkaConsumer
    topic: str
    processor: BatchApplier
    relay: Relay
    outage: OutageWatch
    max_records: int = 1000
    stop: threading.Event = field(default_factory=threading.Event)
    on_assigned: Callable[[], None] = lambda: None
    """Called after each partition assignment (the first one: the worker is consuming)."""
    shutdown_drain_s: float = 10.0
    """How long a stopping worker keeps publishing its outbox before it leaves the group."""
    monotonic: Callable[[], float] = time.monotonic
    _last_offsets: dict[TopicPartition, OffsetAndMetadata] = field(default_factory=dict)
    _held: list[_Part] = field(default_factory=list)
    """Polled records not applied yet, in poll order: a prefix of them is applied at a time."""
    _attempt: int = 0
    """Failed tries in a row (of the held batch's first part, or of the idle probe)."""
    _retry_at: float = 0.0
    _jitter: random.Random = field(default_factory=random.Random)

    def run(self) -> None:
        self._await_partitions()
        self.consumer.subscribe([self.topic], listener=_Rebalance(self.on_assigned, self._revoked))
        try:
            try:
                while not self.stop.is_set():
                    self.step()
            finally:
                self._commit_last()  # applied batches only: a held one is redelivered
            self._drain_before_leaving()
        finally:
            self.consumer.close(autocommit=False)

    def _await_partitions(self, timeout_s: float = 30.0) -> None:
        """Join the group only once this consumer knows the topic's partitions: on Apache
        Kafka a topic created moments ago can be missing from the first metadata, and a
        group leader without it assigns no partition to anyone."""
        deadline = time.monotonic() + timeout_s
        while not self.consumer.partitions_for_topic(self.topic):
            if time.monotonic() > deadline or self.stop.wait(0.1):
                if self.stop.is_set():
                    return
                raise BrokerUnavailable(f"no partitions of {self.topic} within {timeout_s:.0f} s")

    def step(self) -> None:
        timeout_ms = self._poll_timeout_ms()
        polled = self.consumer.poll(timeout_ms=timeout_ms, max_records=self.max_records)
        messages = [
            InboundMessage(
                topic=r.topic, partition=r.partition, offset=r.offset, key=r.key, value=r.value
            )
            for records in polled.values()
            for r in records
        ]
        if messages:
            self._held.append(_Part(messages))
        if self._held:
            self._apply_held()
        self._pause_while_held()
        self._drain()
        self.outage.check_limit()

    def _poll_timeout_ms(self) -> int:
        if not self._held and not self.outage.down:
            return 100
        wait = min(max(self._retry_at - self.monotonic(), 0.0), MAX_HELD_WAIT_S)
        return math.ceil(wait * 1000)

    def _apply_held(self) -> None:
        """Apply held parts in order until none is left, one fails, or the budget is spent
        (the next poll is due). Each applied part's offsets are committed after its
        transaction, and only a prefix of the batch is ever applied, so a partition's
        committed offset never passes a record that was not applied."""
        deadline = self.monotonic() + APPLY_BUDGET_S
        while self._held and self._retry_at <= self.monotonic() < deadline:
            part = self._held[0]
            try:
                if part.breaks_alone is None:
                    self.processor.process(part.messages)
                else:
                    self.processor.dead_letter(part.messages[0], part.breaks_alone)
            except ConcurrencyConflict:
                delay = self._retry_later(CONFLICT_BACKOFF)
                log.warning("batch conflicted with other workers again; retrying in %.1f s", delay)
                return
            except Exception as exc:
                reason = self.outage.reason_of(exc)
                if reason is None:
                    self._failed(part, exc)
                else:
                    self.outage.failed(reason)
                    self._retry_later(OUTAGE_BACKOFF)
                continue
            self._held.pop(0)
            self._attempt = 0
            self.outage.recovered()
            self._commit(part.messages)

    def _failed(self, part: _Part, exc: Exception) -> None:
        """Retry a failing part, then split it, then dead-letter the one record that fails
        on its own. The exception's message stays out of the log (it may quote the
        payload); the dead letter has it."""
        error = type(exc).__name__
        if part.breaks_alone is not None:
            delay = self._retry_later(FAILURE_BACKOFF)
            log.error(
                "event at %s could not be dead-lettered either (%s); retrying in %.1f s",
                part.messages[0].position_key,
                error,
                delay,
            )
        elif part.retries > 0:
            part.retries -= 1
            delay = self._retry_later(FAILURE_BACKOFF)
            log.warning(
                "a batch of %d events failed (%s); retry %d of %d in %.1f s",
                len(part.messages),
                error,
                BATCH_RETRIES - part.retries,
                BATCH_RETRIES,
                delay,
            )
        elif len(part.messages) > 1:
            half = len(part.messages) // 2
            self._held[0:1] = [
                _Part(part.messages[:half], retries=0),
                _Part(part.messages[half:], retries=0),
            ]
            log.info("%d events fail together (%s); trying their halves", len(part.messages), error)
        else:
            part.breaks_alone = exc
            log.error(
                "event at %s fails in every batch (%s); dead-lettering it as internal_error",
                part.messages[0].position_key,
                error,
            )

    def _retry_later(self, backoff: tuple[float, float]) -> float:
        self._attempt += 1
        base, cap = backoff
        delay = compute_backoff(self._attempt, base=base, cap=cap, jitter=self._jitter)
        self._retry_at = self.monotonic() + delay
        return delay

    def _pause_while_held(self) -> None:
        """While records are held, nothing more is fetched (a partition assigned meanwhile
        is paused too); once they are applied, fetching resumes."""
        if self._held:
            if assigned := self.consumer.assignment():
                self.consumer.pause(*assigned)
        elif paused := self.consumer.paused():
            self.consumer.resume(*paused)

    def _drain(self) -> None:
        """Publish the outbox between polls. While the database is down and no batch is
        held to find out, a probe at each retry time does, before the relay runs again."""
        if self.outage.down:
            if self._held or self.monotonic() < self._retry_at:
                return
            if not self._store_call(self.processor.probe):
                return
            self._attempt = 0
            self.outage.recovered()
        self._store_call(lambda: self.relay.drain(self._owned()))

    def _store_call(self, call: Callable[[], object]) -> bool:
        """Run `call`; an outage it meets is noted (not raised) and retried later."""
        try:
            call()
        except Exception as exc:
            reason = self.outage.reason_of(exc)
            if reason is None:
                raise
            self.outage.failed(reason)
            self._retry_later(OUTAGE_BACKOFF)
            return False
        return True

    def _owned(self) -> set[int]:
        return {tp.partition for tp in self.consumer.assignment() if tp.topic == self.topic}

    def _drain_before_leaving(self) -> None:
        """Publish what the outbox holds for this worker's partitions, for at most
        shutdown_drain_s, polling (paused) in between so that the partitions stay this
        worker's meanwhile. What is left, the partitions' next owner publishes."""
        if self.outage.down or self.shutdown_drain_s <= 0:
            return
        if assigned := self.consumer.assignment():
            self.consumer.pause(*assigned)
        deadline = self.monotonic() + self.shutdown_drain_s
        published = 0
        while (left := deadline - self.monotonic()) > 0:
            try:
                sent = self.relay.drain(self._owned(), budget_s=min(1.0, left))
            except Exception as exc:
                reason = self.outage.reason_of(exc)
                if reason is None:
                    raise
                log.warning("outbox not drained before leaving: %s", reason)
                break
            published += sent
            if sent == 0:
                break
            self.consumer.poll(timeout_ms=0)
        if published:
            log.info("published %d outbox rows before leaving the group", published)

    def _commit(self, messages: list[InboundMessage]) -> None:
        """Asynchronous: the batch is already durable in the store, so waiting for the
        broker's answer only stalls the next batch (about 8% of the worker's time). A commit
        that fails or is lost to a crash or rebalance redelivers, and the inbox absorbs it."""
        offsets = {
            TopicPartition(m.topic, m.partition): OffsetAndMetadata(m.offset + 1, "", -1)
            for m in messages
        }
        self._last_offsets.update(offsets)
        self.consumer.commit_async(offsets, callback=_note_refused_commit)

    def _revoked(self, revoked: Collection[TopicPartition]) -> None:
        """A revoked partition's offsets are its next owner's to commit (committing ours
        later, if it came back before a poll, would move the group back), and so are its
        held records: they are dropped, and the partition's position is set back to the
        first of them, since kafka-python keeps a position when the next assignment gives
        the partition back to this worker."""
        gone = set(revoked)
        for tp in gone:
            self._last_offsets.pop(tp, None)
        first: dict[TopicPartition, int] = {}
        for part in self._held:
            for m in filter(lambda m: _of(m, gone), part.messages):
                tp = TopicPartition(m.topic, m.partition)
                first[tp] = min(m.offset, first.get(tp, m.offset))
            part.messages = [m for m in part.messages if not _of(m, gone)]
        self._held = [part for part in self._held if part.messages]
        for tp, offset in first.items():
            with suppress(ValueError, KafkaError):  # unassigned: its position went with it
                self.consumer.seek(tp, offset)
        if first:
            log.info(
                "held records of partitions %s dropped: their next owner gets them",
                sorted(tp.partition for tp in first),
            )

    def _commit_last(self) -> None:
        """On a stop, wait for the last offsets, so a restart redelivers nothing applied."""
        if not self._last_offsets:
            return
        try:
            self.consumer.commit(dict(self._last_offsets), timeout_ms=LAST_COMMIT_TIMEOUT_MS)
        except KafkaError as exc:
            _note_refused_commit(self._last_offsets, exc)


def _of(message: InboundMessage, partitions: set[TopicPartition]) -> bool:
    return TopicPartition(message.topic, message.partition) in partitions


def _note_refused_commit(
    _offsets: dict[TopicPartition, OffsetAndMetadata], response: object
) -> None:
    if isinstance(response, Exception):
        log.info("offset commit refused (%s); the inbox absorbs the redelivery", response)
