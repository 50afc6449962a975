"""The ports of engine/ports.py in memory, so that the processor, the relay and the sweeper are
tested without I/O, and the part of KafkaConsumer the inbound loop uses (`FakeConsumer`).

One `FakeStore` holds every table; `FakeOutbox`, `FakeDueTimers` and `FakeTrendStore` read
and write the same tables, as the SQLAlchemy adapters share one database: what a batch writes
is what the relay publishes and the sweeper claims. The fakes keep what the real adapters
guarantee, and tests/contract checks it on the fake, SQLite and PostgreSQL alike: nothing is
kept unless committed, and a stale complaint version, a repeated inbox key, history version,
timer or alias, or an open order that changed since it was read, is a `ConcurrencyConflict`.
"""

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from kafka import TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata

from complaintflow.engine.core.batch import BatchChanges
from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.events import LogEntry
from complaintflow.engine.core.messages import InboxEntry
from complaintflow.engine.core.payloads import SimilarCase
from complaintflow.engine.core.trends import TrendAlert, TrendFigures
from complaintflow.engine.core.vocabulary import Category
from complaintflow.engine.errors import BrokerUnavailable, ConcurrencyConflict, StoreUnavailable
from complaintflow.engine.ports import Clock, DueTimer, OutboxRow, SendFailure

Message = tuple[str, bytes | None, bytes]


@dataclass(frozen=True)
class OutboxRecord:
    id: int
    partition: int
    topic: str
    key: bytes | None
    value: bytes
    created_at: datetime
    sent_at: datetime | None = None


@dataclass(frozen=True)
class TimerRecord:
    due_at: datetime
    claimed_until: datetime | None = None
    claimed_by: str | None = None


@dataclass
class Tables:
    """The committed state. Values are immutable, so a copy of the dicts is a snapshot."""

    complaints: dict[str, Complaint] = field(default_factory=dict)
    inbox: dict[str, InboxEntry] = field(default_factory=dict)
    history: dict[tuple[str, int], LogEntry] = field(default_factory=dict)
    outbox: dict[int, OutboxRecord] = field(default_factory=dict)
    timers: dict[tuple[str, str], TimerRecord] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    open_orders: dict[tuple[str, str], tuple[str, datetime]] = field(default_factory=dict)
    trend_alerts: dict[str, TrendAlert] = field(default_factory=dict)
    last_outbox_id: int = 0

    def snapshot(self) -> "Tables":
        return Tables(
            complaints=dict(self.complaints),
            inbox=dict(self.inbox),
            history=dict(self.history),
            outbox=dict(self.outbox),
            timers=dict(self.timers),
            aliases=dict(self.aliases),
            open_orders=dict(self.open_orders),
            trend_alerts=dict(self.trend_alerts),
            last_outbox_id=self.last_outbox_id,
        )

    def add_outbox(
        self, partition: int, topic: str, key: bytes | None, value: bytes, at: datetime
    ) -> None:
        self.last_outbox_id += 1
        self.outbox[self.last_outbox_id] = OutboxRecord(
            self.last_outbox_id, partition, topic, key, value, at
        )


def _conflict(why: str) -> ConcurrencyConflict:
    return ConcurrencyConflict(f"another worker got there first: {why}")


def apply_changes(t: Tables, changes: BatchChanges, now: datetime) -> None:
    """What SqlAlchemyUnitOfWork.write does, on `t`; raises where it would hit a unique key or
    find a row changed since it was read."""
    for cid, complaint in sorted(changes.complaints.items()):
        expected, current = changes.loaded_versions[cid], t.complaints.get(cid)
        if expected is None and current is not None:
            raise _conflict(f"complaint {cid} exists")
        if expected is not None and (current is None or current.version != expected):
            raise _conflict(f"complaint {cid} changed since read")
        t.complaints[cid] = complaint
    for entry in changes.inbox:
        if entry.key in t.inbox:
            raise _conflict(f"inbox key {entry.key}")
        t.inbox[entry.key] = entry
    for log in changes.history:
        if (log.complaint_id, log.version) in t.history:
            raise _conflict(f"history {log.complaint_id} v{log.version}")
        t.history[(log.complaint_id, log.version)] = log
    for m in changes.outbox:
        t.add_outbox(m.partition, m.topic, m.key, m.value, now)
    _apply_timers(t, changes)
    for merged, into in changes.aliases.items():
        if merged in t.aliases:
            raise _conflict(f"alias {merged}")
        t.aliases[merged] = into
    for pair, claim in changes.open_orders.items():
        read, holder = changes.orders_read.get(pair), t.open_orders.get(pair)
        # a new pair is inserted (a rival's row is a unique violation); a read one is replaced
        # only if it still names the complaint read
        unchanged = holder is None if read is None else holder is not None and holder[0] == read
        if not unchanged:
            raise _conflict(f"open order {pair} changed")
        t.open_orders[pair] = claim
    for pair, cid in changes.closed_orders.items():
        if (held := t.open_orders.get(pair)) is not None and held[0] == cid:
            del t.open_orders[pair]


def _apply_timers(t: Tables, changes: BatchChanges) -> None:
    for cid, key, due in changes.timers_fired:
        if (row := t.timers.get((cid, key))) is not None and row.due_at == due:
            del t.timers[(cid, key)]
    for cid, key in changes.timers_cancelled | set(changes.timers_set):
        if changes.loaded_versions.get(cid) is not None:
            t.timers.pop((cid, key), None)
    for pair, timer in changes.timers_set.items():
        if pair in t.timers:
            raise _conflict(f"timer {pair}")
        t.timers[pair] = TimerRecord(timer.due_at)


class FakeUnitOfWork:
    """Reads the committed tables (and this unit's own writes); `write` checks its changes
    against them at once, and `commit` checks them again and applies them all or none."""

    def __init__(self, store: "FakeStore") -> None:
        self._store = store
        self._written: list[BatchChanges] = []
        self._view: Tables | None = None

    def _tables(self) -> Tables:
        return self._store.tables if self._view is None else self._view

    def seen(self, keys: Collection[str]) -> set[str]:
        return {k for k in keys if k in self._tables().inbox}

    def resolve_aliases(self, complaint_ids: Collection[str]) -> dict[str, str]:
        aliases = self._tables().aliases
        return {i: aliases[i] for i in complaint_ids if i in aliases}

    def load(self, complaint_ids: Collection[str]) -> dict[str, Complaint]:
        complaints = self._tables().complaints
        return {i: complaints[i] for i in complaint_ids if i in complaints}

    def open_orders(self, pairs: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
        orders = self._tables().open_orders
        return {p: orders[p][0] for p in pairs if p in orders}

    def similar_cases(
        self, subjects: Mapping[str, tuple[Category, str, bool]], limit: int
    ) -> dict[str, tuple[SimilarCase, ...]]:
        """No text index here: finding precedent is the real stores' (tests/contract)."""
        return {}

    def write(self, changes: BatchChanges) -> None:
        self._store.before_write(changes)
        self._view = self._applied([*self._written, changes])
        self._written.append(changes)

    def commit(self) -> None:
        self._store.tables = self._applied(self._written)
        self._written, self._view = [], None

    def _applied(self, written: Sequence[BatchChanges]) -> Tables:
        tables = self._store.tables.snapshot()
        for changes in written:
            apply_changes(tables, changes, self._store.clock.now())
        return tables


class FakeStore:
    """The `Store` port. `rival_commits_first` and `conflicts` stand in for another worker,
    `down` for a database that cannot be reached, `breaks` for a bug in the write."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.tables = Tables()
        self.writes = 0
        self.conflicts = 0
        """The next this many writes raise ConcurrencyConflict, whatever they hold."""
        self.down: str | None = None
        """While set, every unit of work (and the outbox) raises StoreUnavailable saying so."""
        self.breaks: Callable[[BatchChanges], None] | None = None
        """Called with each write's changes before they are checked; raises to fail it."""
        self._rivals: list[Callable[[], object]] = []

    @contextmanager
    def unit_of_work(self) -> Iterator[FakeUnitOfWork]:
        """Rolled back unless committed: an uncommitted unit's writes are simply dropped."""
        self.require_up()
        yield FakeUnitOfWork(self)

    def require_up(self) -> None:
        if self.down is not None:
            raise StoreUnavailable(f"database unreachable: {self.down}")

    def rival_commits_first(self, action: Callable[[], object]) -> None:
        """Run `action` (e.g. another processor's whole batch) just before the next write, as
        a worker that wins a race would."""
        self._rivals.append(action)

    def before_write(self, changes: BatchChanges) -> None:
        self.writes += 1
        if self.breaks is not None:
            self.breaks(changes)
        while self._rivals:
            self._rivals.pop(0)()
        if self.conflicts > 0:
            self.conflicts -= 1
            raise ConcurrencyConflict("injected conflict")

    def history(self, complaint_id: str) -> list[LogEntry]:
        """One complaint's history in version order (a merged id reads its target's)."""
        target = self.tables.aliases.get(complaint_id, complaint_id)
        return sorted(
            (e for (cid, _), e in self.tables.history.items() if cid == target),
            key=lambda e: e.version,
        )


class FakeOutbox:
    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def unsent(self, partitions: Collection[int], limit: int) -> Sequence[OutboxRow]:
        self._store.require_up()
        rows = sorted(
            (r for r in self._store.tables.outbox.values() if r.sent_at is None),
            key=lambda r: r.id,
        )
        return [(r.id, r.topic, r.key, r.value) for r in rows if r.partition in partitions][:limit]

    def mark_sent(self, ids: Collection[int], at: datetime) -> None:
        outbox = self._store.tables.outbox
        for i in ids:
            if i in outbox:
                outbox[i] = replace(outbox[i], sent_at=at)

    def purge_sent(self, partitions: Collection[int], older_than: datetime, limit: int) -> int:
        outbox = self._store.tables.outbox
        head = sorted(i for i, r in outbox.items() if r.partition in partitions)[:limit]
        old = [i for i in head if (at := outbox[i].sent_at) is not None and at < older_than]
        for i in old:
            del outbox[i]
        return len(old)


class FakeDueTimers:
    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def claim_due(self, now: datetime, limit: int, owner: str, lease: timedelta) -> list[DueTimer]:
        timers = self._store.tables.timers
        free = sorted(
            (
                (row.due_at, pair)
                for pair, row in timers.items()
                if row.due_at <= now and (row.claimed_until is None or row.claimed_until < now)
            ),
        )[:limit]
        for _, pair in free:
            timers[pair] = replace(timers[pair], claimed_until=now + lease, claimed_by=owner)
        return [DueTimer(cid, key, due_at) for due_at, (cid, key) in free]


class FakeTrendStore:
    def __init__(self, store: FakeStore, closed_states: Collection[str]) -> None:
        self._store = store
        self._closed = set(closed_states)

    def figures(self, now: datetime, window: timedelta, baseline_windows: int) -> TrendFigures:
        complaints = self._store.tables.complaints.values()
        start = now - window

        def by_category(lo: datetime, hi: datetime) -> dict[str, int]:
            counts: dict[str, int] = {}
            for c in complaints:
                if lo <= c.received_at < hi:
                    counts[c.category.value] = counts.get(c.category.value, 0) + 1
            return counts

        still_open = [c for c in complaints if c.state not in self._closed]
        return TrendFigures(
            now=now,
            window_counts=by_category(start, now),
            baseline_counts=by_category(start - window * baseline_windows, start),
            first_received_at=min((c.received_at for c in complaints), default=None),
            open=len(still_open),
            overdue_open=sum(c.overdue for c in still_open),
        )

    def record(
        self,
        alerts: Sequence[TrendAlert],
        topic: str,
        partition_of: Callable[[str], int],
        at: datetime,
    ) -> list[TrendAlert]:
        tables = self._store.tables
        recorded = []
        for alert in alerts:
            if str(alert.event_id) in tables.trend_alerts:
                continue
            key = f"trend:{alert.subject}"
            tables.trend_alerts[str(alert.event_id)] = alert
            tables.add_outbox(
                partition_of(key), topic, key.encode(), alert.model_dump_json().encode(), at
            )
            recorded.append(alert)
        return recorded


class FakePublisher:
    """Records what it is given; `fail_next(n)` makes the next n calls raise
    BrokerUnavailable (nothing of such a call counts as published), or, for `deliver`, fail
    every message; `refuse(value, ...)` makes `deliver` fail that message."""

    def __init__(self) -> None:
        self.published: list[Message] = []
        self.attempts = 0
        self._failures = 0
        self._refusals: dict[bytes, tuple[SendFailure, int]] = {}

    def fail_next(self, times: int = 1) -> None:
        self._failures = times

    def publish(self, messages: Sequence[Message]) -> None:
        self.attempts += 1
        if self._failures > 0:
            self._failures -= 1
            raise BrokerUnavailable("fake broker: unavailable")
        self.published.extend(messages)

    def refuse(self, value: bytes, reason: str, *, permanent: bool, times: int = 1000) -> None:
        """The next `times` sends of `value` fail: for good (too large, say), or not."""
        self._refusals[value] = (SendFailure(reason, permanent), times)

    def deliver(self, messages: Sequence[Message]) -> dict[int, SendFailure]:
        """As KafkaPublisher reports: each failed message by index. Like Kafka keeping a
        partition's order, a message that fails other than for good fails the later messages
        with its key in the same call too."""
        self.attempts += 1
        if self._failures > 0:
            self._failures -= 1
            down = SendFailure("fake broker: unavailable", permanent=False)
            return dict.fromkeys(range(len(messages)), down)
        failures: dict[int, SendFailure] = {}
        stopped: set[bytes | None] = set()
        for index, message in enumerate(messages):
            _, key, value = message
            if key in stopped:
                failures[index] = SendFailure("an earlier message of its key failed", False)
            elif (refusal := self._refused(value)) is not None:
                failures[index] = refusal
                if not refusal.permanent:
                    stopped.add(key)
            else:
                self.published.append(message)
        return failures

    def _refused(self, value: bytes) -> SendFailure | None:
        refusal, times = self._refusals.get(value, (None, 0))
        if refusal is None or times <= 0:
            return None
        self._refusals[value] = (refusal, times - 1)
        return refusal


class FakeTime:
    """Monotonic seconds that move only when told (or when a `FakeConsumer` poll waits)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class FakeRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class FakeConsumer:
    """What the inbound loop uses of kafka-python's KafkaConsumer, over records in memory.

    As kafka-python 3 does: `poll` returns records from the position of each assigned,
    unpaused partition and moves the position past them; a poll with nothing to return waits
    its timeout (moving `time` on); a rebalance (`rebalance`) runs the listener's callbacks
    inside the next poll, revoking every partition first (the eager protocol), and a
    partition given back keeps its position and pause, while a new one starts at the
    committed offset. `on_poll` runs at the start of each poll: a test's script of events."""

    def __init__(self, topic: str, partitions: int, time: FakeTime) -> None:
        self.topic = topic
        self.time = time
        self.records: dict[TopicPartition, list[FakeRecord]] = {
            TopicPartition(topic, p): [] for p in range(partitions)
        }
        self.positions: dict[TopicPartition, int] = {}
        self.committed: dict[TopicPartition, int] = {}
        self.commits: list[dict[TopicPartition, int]] = []
        self.on_commit: Callable[[dict[TopicPartition, int]], None] = lambda _: None
        self.on_poll: Callable[[], None] = lambda: None
        self.polled_at: list[float] = []
        self.closed = False
        self._paused: set[TopicPartition] = set()
        self._listener: ConsumerRebalanceListener | None = None
        self._next_assignment: set[TopicPartition] | None = None

    def produce(self, partition: int, key: bytes | None, value: bytes | None) -> FakeRecord:
        tp = TopicPartition(self.topic, partition)
        record = FakeRecord(self.topic, partition, len(self.records[tp]), key, value)
        self.records[tp].append(record)
        return record

    def rebalance(self, partitions: Collection[int]) -> None:
        """The next poll revokes every partition, then assigns these."""
        self._next_assignment = {TopicPartition(self.topic, p) for p in partitions}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {tp.partition for tp in self.records if tp.topic == topic}

    def subscribe(self, topics: list[str], listener: ConsumerRebalanceListener) -> None:
        self._listener = listener
        self.rebalance(self.partitions_for_topic(topics[0]))

    def poll(self, timeout_ms: int = 0, max_records: int = 500) -> dict[TopicPartition, list]:
        self.polled_at.append(self.time())
        self.on_poll()
        if self._next_assignment is not None:
            self._assign(self._next_assignment)
        polled: dict[TopicPartition, list] = {}
        room = max_records
        for tp in sorted(self.positions):
            if tp in self._paused or room == 0:
                continue
            taken = self.records[tp][self.positions[tp] : self.positions[tp] + room]
            if taken:
                polled[tp] = taken
                self.positions[tp] += len(taken)
                room -= len(taken)
        if not polled:
            self.time.advance(timeout_ms / 1000)
        return polled

    def _assign(self, assigned: set[TopicPartition]) -> None:
        assert self._listener is not None
        self._next_assignment = None
        if self.positions:
            self._listener.on_partitions_revoked(set(self.positions))
        self.positions = {
            tp: self.positions.get(tp, self.committed.get(tp, 0)) for tp in sorted(assigned)
        }
        self._paused &= assigned
        self._listener.on_partitions_assigned(set(assigned))

    def assignment(self) -> set[TopicPartition]:
        return set(self.positions)

    def pause(self, *partitions: TopicPartition) -> None:
        assert set(partitions) <= set(self.positions), "pausing an unassigned partition"
        self._paused.update(partitions)

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    def resume(self, *partitions: TopicPartition) -> None:
        self._paused.difference_update(partitions)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        if partition not in self.positions:
            raise ValueError("Unassigned partition")
        self.positions[partition] = offset

    def commit_async(
        self, offsets: dict[TopicPartition, OffsetAndMetadata], callback: object = None
    ) -> None:
        self.commit(offsets)

    def commit(
        self, offsets: dict[TopicPartition, OffsetAndMetadata], timeout_ms: int | None = None
    ) -> None:
        committed = {tp: o.offset for tp, o in offsets.items()}
        self.on_commit(committed)
        self.commits.append(committed)
        self.committed.update(committed)

    def close(self, autocommit: bool = True) -> None:
        self.closed = True
