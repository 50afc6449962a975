"""The inbound loop on fakes when its batch cannot be applied: a database outage is ridden
out with the batch held and the partitions paused while polls go on, the same records are
applied once the database is back and their offsets committed only then; an outage past the
limit stops the worker; a revoked partition's held records go to its next owner; one event
that breaks every batch it is in is found by halving the batch and dead-lettered; and a stop
publishes the outbox within its bound, or leaves at once during an outage.

Time is a `FakeTime` that polls move on by their timeout, as real polls wait: no test sleeps.
"""

import json
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from itertools import pairwise

import pytest
from kafka import TopicPartition

from complaintflow.consumers.kafka_consumer import partitioner
from complaintflow.consumers.kafka_loop import BATCH_RETRIES, InboundLoop
from complaintflow.engine.core.batch import BatchChanges
from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.errors import StoreUnavailable
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.service.database_outage import DatabaseOutage, spelled
from complaintflow.engine.service.processing import BatchProcessor
from complaintflow.engine.service.worker_metrics import WorkerMetrics
from complaintflow.producers.outbox_relay import OutboxRelay
from complaintflow.state_store.unit_of_work import store_outage
from tests.support.builders import MONDAY_9, RECEIVED, envelope_dict
from tests.support.fakes import (
    FakeConsumer,
    FakeOutbox,
    FakePublisher,
    FakeRecord,
    FakeStore,
    FakeTime,
)

TOPICS = Topics("complaints")
PARTITIONS = 2
partition_of = partitioner(PARTITIONS)
REFUSED = "connection refused"
COMPLAINTS = 10


class SpyProcessor(BatchProcessor):
    """The real processor, noting the offsets of every batch it is asked to apply."""

    tried: list[list[tuple[int, int]]]

    def process(self, messages: Sequence[InboundMessage]) -> BatchChanges:
        self.tried.append([(m.partition, m.offset) for m in messages])
        return super().process(messages)


@dataclass
class Rig:
    time: FakeTime
    store: FakeStore
    consumer: FakeConsumer
    loop: InboundLoop
    processor: SpyProcessor
    metrics: WorkerMetrics
    records: list[FakeRecord] = field(default_factory=list)

    def run_until(
        self, done: Callable[[], bool], script: Callable[[], None] = lambda: None
    ) -> None:
        """Run the loop, `script` at every poll, until `done` holds (or 10,000 polls)."""

        def on_poll() -> None:
            script()
            if done() or len(self.consumer.polled_at) > 10_000:
                self.loop.stop.set()

        self.consumer.on_poll = on_poll
        self.loop.run()

    def applied(self, record: FakeRecord) -> bool:
        event_id = json.loads(record.value or b"")["event_id"]
        return event_id in self.store.tables.inbox

    def all_applied(self) -> bool:
        return all(self.applied(r) for r in self.records)


def rig(workflow: Workflow, limit: timedelta = timedelta(minutes=5), batch: int = 6) -> Rig:
    time = FakeTime()
    store = FakeStore(FixedClock(MONDAY_9))
    consumer = FakeConsumer(TOPICS.inbound, PARTITIONS, time)
    metrics = WorkerMetrics()
    outage = DatabaseOutage(limit, partial(store_outage, url="sqlite://"), metrics, monotonic=time)
    processor = SpyProcessor(store, workflow, store.clock, TOPICS, partition_of)
    processor.tried = []
    relay = OutboxRelay(FakeOutbox(store), FakePublisher(), store.clock, monotonic=time)
    loop = InboundLoop(
        consumer=consumer,
        topic=TOPICS.inbound,
        processor=processor,
        relay=relay,
        outage=outage,
        max_records=batch,
        monotonic=time,
    )
    return Rig(time, store, consumer, loop, processor, metrics)


def publish_complaints(r: Rig, count: int) -> None:
    """Each complaint received, then answered, on its partition (no merges: own orders)."""
    for n in range(count):
        cid = f"C-{n}"
        received = {**RECEIVED, "customer_id": f"U{n}", "order_id": f"O{n}"}
        for type_, at, payload in (
            ("complaint.received", MONDAY_9, received),
            ("agent.responded", MONDAY_9 + timedelta(minutes=1), None),
        ):
            value = json.dumps(envelope_dict(type_, complaint_id=cid, at=at, payload=payload))
            r.records.append(r.consumer.produce(partition_of(cid), cid.encode(), value.encode()))


def histories(r: Rig) -> dict[str, list[tuple[int, str]]]:
    return {
        f"C-{n}": [(e.version, e.type.value) for e in r.store.history(f"C-{n}")]
        for n in range(COMPLAINTS)
    }


def undisturbed(workflow: Workflow) -> Rig:
    """The same stream through a worker that nothing happens to."""
    r = rig(workflow)
    publish_complaints(r, COMPLAINTS)
    r.run_until(r.all_applied)
    return r


def commits_only_what_is_applied(r: Rig) -> None:
    """Every offset committed covers only records already in the store's inbox."""

    def check(committed: dict[TopicPartition, int]) -> None:
        for tp, offset in committed.items():
            assert all(map(r.applied, r.consumer.records[tp][:offset])), (tp, offset)

    r.consumer.on_commit = check


def partition(number: int) -> TopicPartition:
    return TopicPartition(TOPICS.inbound, number)


def test_an_outage_holds_the_batch_pauses_polls_and_applies_it_once_when_back(
    workflow: Workflow, caplog: pytest.LogCaptureFixture
) -> None:
    # Given 20 events on two partitions, read 6 at a time
    r = rig(workflow)
    publish_complaints(r, COMPLAINTS)
    commits_only_what_is_applied(r)
    seen: dict[str, float] = {}

    def outage_after_first_batch() -> None:
        # When the database goes away after the first batch, for 30 s
        if len(r.processor.tried) == 1 and "down" not in seen:
            r.store.down, seen["down"] = REFUSED, r.time()
        if "down" in seen and "up" not in seen:
            if len(r.processor.tried) > 1:  # the second batch failed: it is held
                assert r.consumer.paused() == r.consumer.assignment()
            if r.time() - seen["down"] >= 30:
                r.store.down, seen["up"] = None, r.time()
        if "up" in seen and "applied" not in seen and len(r.store.tables.inbox) > 6:
            seen["applied"] = r.time()
        if "applied" in seen and not r.consumer.paused():
            seen["resumed"] = r.time()

    with caplog.at_level(logging.INFO):
        r.run_until(r.all_applied, outage_after_first_batch)

    # Then the worker polled all along (heartbeats, group membership) ...
    during = [t for t in r.consumer.polled_at if seen["down"] <= t <= seen["up"]]
    assert max(b - a for a, b in pairwise(during)) <= 0.5 + 1e-9
    # ... retried the very same second batch until the database was back, then went on
    second = r.processor.tried[1]
    retried = 1
    while r.processor.tried[1 + retried] == second:
        retried += 1
    assert retried > 5
    assert second not in r.processor.tried[1 + retried :]
    assert seen["applied"] - seen["up"] <= 2.0 + 1e-6, "resumed within the capped backoff"
    # and every event is applied once, every offset committed, nothing left paused
    assert r.all_applied()
    assert histories(r) == histories(undisturbed(workflow))
    assert r.consumer.committed == {tp: len(rs) for tp, rs in r.consumer.records.items()}
    assert "resumed" in seen
    # with one log line when it went, one when it came back
    went = [m for m in caplog.messages if m.startswith("database unavailable since")]
    back = [m for m in caplog.messages if m.startswith("database back after")]
    assert len(went) == 1 and went[0].endswith(f"database unreachable: {REFUSED}")
    assert len(back) == 1
    figures = {s.name: s.value for s in r.metrics.samples()}
    assert figures["database_outages"] == 1
    assert 30 <= figures["database_outage_seconds"] <= seen["applied"] - seen["down"]


def test_an_outage_past_the_limit_stops_the_worker_committing_nothing_unapplied(
    workflow: Workflow,
) -> None:
    # Given a worker whose limit is one minute, and a database gone after its first batch
    r = rig(workflow, limit=timedelta(minutes=1))
    publish_complaints(r, COMPLAINTS)
    commits_only_what_is_applied(r)

    def down_after_first_batch() -> None:
        if len(r.processor.tried) == 1:
            r.store.down = REFUSED

    # When it stays away
    with pytest.raises(StoreUnavailable) as stopped:
        r.run_until(lambda: False, down_after_first_batch)

    # Then the worker stops with one line, having committed the first batch only
    assert str(stopped.value) == (
        "database unavailable for 1m0s (limit COMPLAINTFLOW_DATABASE_OUTAGE_LIMIT): "
        f"database unreachable: {REFUSED}"
    )
    assert r.time() - r.consumer.polled_at[0] >= 60
    assert sum(r.consumer.committed.values()) == len(r.store.tables.inbox) == 6
    assert r.consumer.closed


@pytest.mark.parametrize("given_back", [False, True])
def test_a_partition_revoked_during_an_outage_leaves_its_held_records_to_the_next_owner(
    workflow: Workflow, given_back: bool
) -> None:
    # Given a batch from both partitions held while the database is down
    r = rig(workflow, batch=100)
    publish_complaints(r, COMPLAINTS)
    commits_only_what_is_applied(r)
    r.store.down = REFUSED
    moved: dict[str, float] = {}

    def rebalance_then_recover() -> None:
        if r.processor.tried and "at" not in moved:
            # When the group takes partition 0 away (or gives both back) mid-outage
            r.consumer.rebalance([0, 1] if given_back else [1])
            moved["at"] = r.time()
        elif "at" in moved and r.time() - moved["at"] > 5:
            r.store.down = None

    one = [rec for rec in r.records if rec.partition == 1]
    r.run_until(lambda: all(map(r.applied, one)), rebalance_then_recover)

    # Then partition 1's records are applied once, and partition 0's only if it came back
    zero = [rec for rec in r.records if rec.partition == 0]
    if given_back:
        r.run_until(r.all_applied)
        assert r.consumer.committed[partition(0)] == len(zero)
    else:
        assert not any(map(r.applied, zero))
        assert partition(0) not in r.consumer.committed
    assert r.consumer.committed[partition(1)] == len(one)
    expected = histories(undisturbed(workflow))
    assert {cid: h for cid, h in histories(r).items() if h} == {
        cid: h for cid, h in expected.items() if given_back or partition_of(cid) == 1
    }


def test_the_one_event_that_breaks_its_batch_is_found_and_dead_lettered(
    workflow: Workflow,
) -> None:
    # Given a batch of 20 events, one of which a bug in the write cannot store
    r = rig(workflow, batch=100)
    publish_complaints(r, COMPLAINTS)
    commits_only_what_is_applied(r)
    poison = json.loads(r.records[7].value or b"")["event_id"]

    def bug(changes: BatchChanges) -> None:
        if any(e.key == poison and e.outcome == "applied" for e in changes.inbox):
            raise TypeError("cannot store C-3's answer")

    r.store.breaks = bug

    # When the loop processes it
    r.run_until(r.all_applied)

    # Then the batch was retried 3 times, then halved down to the poison event, which went
    # to the DLQ as internal_error; the 19 others were applied, all offsets committed
    whole = r.processor.tried[0]
    assert r.processor.tried[: 1 + BATCH_RETRIES] == [whole] * (1 + BATCH_RETRIES)
    assert len(r.processor.tried) <= 1 + BATCH_RETRIES + 2 * 5  # two tries a halving
    assert r.store.tables.inbox[poison].outcome == "refused"
    assert sum(e.outcome == "applied" for e in r.store.tables.inbox.values()) == 19
    dead = [json.loads(o.value) for o in r.store.tables.outbox.values() if o.topic == TOPICS.dlq]
    assert [d["reason"] for d in dead] == ["internal_error: TypeError: cannot store C-3's answer"]
    assert (dead[0]["partition"], dead[0]["offset"]) == (
        r.records[7].partition,
        r.records[7].offset,
    )
    assert r.consumer.committed == {tp: len(rs) for tp, rs in r.consumer.records.items()}


def test_durations_are_spelled_as_go_spells_them() -> None:
    assert [spelled(timedelta(seconds=s)) for s in (300, 3600, 45, 90, 1.5)] == [
        "5m0s",
        "1h0m0s",
        "45s",
        "1m30s",
        "1.5s",
    ]


@dataclass
class SlowRelay:
    """A relay publishing 10 rows a second of its budget from a backlog it is given."""

    time: FakeTime
    backlog: int = 0
    drained_while_paused: list[bool] = field(default_factory=list)
    consumer: FakeConsumer | None = None

    def drain(self, partitions: Collection[int], budget_s: float = 2.0) -> int:
        sent = min(self.backlog, int(budget_s * 10))
        self.backlog -= sent
        self.time.advance(sent / 10)
        if self.consumer is not None:
            self.drained_while_paused.append(self.consumer.paused() == self.consumer.assignment())
        return sent


@pytest.mark.parametrize(("bound_s", "left"), [(60.0, 0), (3.0, 50)])
def test_a_stop_publishes_the_outbox_within_its_bound_then_leaves(
    workflow: Workflow, bound_s: float, left: int
) -> None:
    # Given a worker that applied everything, with 100 outbox rows still to publish
    r = rig(workflow)
    publish_complaints(r, COMPLAINTS)
    relay = SlowRelay(r.time)
    r.loop.relay = relay
    r.loop.shutdown_drain_s = bound_s

    def backlog_then_stop() -> None:
        if r.all_applied() and not r.loop.stop.is_set():
            relay.backlog, relay.consumer = 100, r.consumer
            stopped["at"] = r.time()
            r.loop.stop.set()

    stopped: dict[str, float] = {}
    # When it is told to stop
    r.run_until(lambda: False, backlog_then_stop)

    # Then, after the step in hand (its poll's 0.1 s, its drain's 2 s and 20 rows), it
    # publishes what it can within the bound, paused, polling in between; and leaves with
    # every offset committed
    assert relay.backlog == left
    assert r.time() - stopped["at"] <= 0.1 + 2 + bound_s + 1e-9
    assert relay.drained_while_paused[0] is False and all(relay.drained_while_paused[1:])
    assert r.consumer.committed == {tp: len(rs) for tp, rs in r.consumer.records.items()}
    assert r.consumer.closed


def test_a_stop_during_an_outage_leaves_at_once_committing_only_what_was_applied(
    workflow: Workflow,
) -> None:
    # Given a worker holding its second batch through an outage
    r = rig(workflow)
    publish_complaints(r, COMPLAINTS)
    commits_only_what_is_applied(r)

    def down_then_stop() -> None:
        if len(r.processor.tried) == 1:
            r.store.down = REFUSED
        if len(r.processor.tried) == 4:  # When it is told to stop
            r.loop.stop.set()

    r.run_until(lambda: False, down_then_stop)

    # Then it leaves with the first batch's offsets committed, the held one's not
    assert sum(r.consumer.committed.values()) == len(r.store.tables.inbox) == 6
    assert r.consumer.closed


def test_an_idle_worker_rides_an_outage_its_relay_meets(
    workflow: Workflow, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an idle worker whose relay finds the database gone for 10 s
    r = rig(workflow)
    r.store.down = REFUSED
    began = r.time()

    def back_after_10_s() -> None:
        if r.time() - began >= 10:
            r.store.down = None

    # When it polls on
    with caplog.at_level(logging.INFO):
        r.run_until(lambda: r.time() - began > 15, back_after_10_s)

    # Then it says once that the database went and once that it came back (its probe found
    # out, within the capped backoff), and carries on
    went = [m for m in caplog.messages if m.startswith("database unavailable since")]
    back = [m for m in caplog.messages if m.startswith("database back after")]
    assert len(went) == len(back) == 1
    assert 10 <= float(back[0].split()[3]) <= 12.5
    assert r.consumer.closed
