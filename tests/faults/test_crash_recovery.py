"""Worker processes stopped mid-stream, on real brokers: killed with SIGKILL at random points
several times, then restarted; or stopped with SIGTERM while a large batch is in hand. Nothing
lost, nothing applied twice, the outbox drains, and the event log keeps each complaint's
order. The stream is the sample day: duplicates, merges and malformed lines included."""

import functools
import random
import time
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Engine

from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.entrypoints.cli.bench_parts import keyed
from complaintflow.engine.entrypoints.cli.sample_day import sample_day
from complaintflow.engine.settings import Settings
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.summary import summarize
from complaintflow.state_store.tables import inbox_t
from tests.support.broker import WorkerProcess, publish, read_topic
from tests.support.invariants import assert_as_clean_replay, distinct_inputs
from tests.support.waiting import wait_for

# the clock stands (almost) still where the day starts: no timer comes due mid-test
DAY_START = "2025-07-15T08:00:00+08:00"
KILLS = 3


def processed_at_least(engine: Engine, count: int) -> bool:
    return summarize(engine).processed >= count


def publish_day(broker: str, topic: str, lines: list[bytes]) -> None:
    publish(broker, topic, [(key, value) for key, value, _ in keyed(lines)])


@pytest.mark.slow  # 40-70 s per broker: three kills, each followed by a rejoin
def test_sigkill_at_random_points_then_restart(
    broker: str, topics: Topics, sqlite_url: str, workflow: Workflow
) -> None:
    # Given a realistic stream on the topic, and three kill points drawn at random (seeded)
    lines = sample_day(complaints=400, seed=5)
    publish_day(broker, topics.inbound, lines)
    inputs = distinct_inputs(lines)
    rng = random.Random(13)
    kill_at = sorted(rng.sample(range(inputs // 10, inputs * 8 // 10), KILLS))
    engine = open_engine(sqlite_url)

    # When a worker is killed with SIGKILL at each point, and a new one started each time
    for threshold in kill_at:
        worker = WorkerProcess(broker, topics, sqlite_url, DAY_START)
        wait_for(functools.partial(processed_at_least, engine, threshold), 120, f"{threshold} done")
        worker.kill()
        assert summarize(engine).processed < inputs, "the kill came after the stream was done"
    worker = WorkerProcess(broker, topics, sqlite_url, DAY_START)
    try:
        wait_for(
            lambda: (s := summarize(engine)).processed == inputs and s.outbox_backlog == 0,
            120,
            "the last worker to finish and drain the outbox",
        )
    finally:
        worker.stop()

    # Then every complaint ends as a clean replay ends it, with no history row twice
    assert_as_clean_replay(engine, broker, topics, lines, workflow)


def committed_offsets(broker: str, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition, asked without joining the group."""
    consumer = KafkaConsumer(bootstrap_servers=broker, group_id=group, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        offsets = {p: consumer.committed(TopicPartition(topic, p)) for p in partitions}
        return {p: offset for p, offset in offsets.items() if offset is not None}
    finally:
        consumer.close(autocommit=False)


def inbox_keys_of(records: list[Any], committed: dict[int, int]) -> set[str]:
    """The inbox keys of the records below the group's committed offsets: the event_id, or
    topic:partition:offset for a line with no readable event_id."""
    keys = set()
    for r in records:
        if r.offset < committed.get(r.partition, 0):
            event = decode_event(r.value)
            position = f"{r.topic}:{r.partition}:{r.offset}"
            keys.add(position if isinstance(event, Refusal) else str(event.event_id))
    return keys


@pytest.mark.slow  # about 20 s per broker
def test_sigterm_mid_batch_commits_the_batch_and_its_offsets_then_exits_0(
    broker: str, topics: Topics, sqlite_url: str, workflow: Workflow
) -> None:
    # Given a worker busy with batches of 500 events of a long stream
    lines = sample_day(complaints=600, seed=11)
    publish_day(broker, topics.inbound, lines)
    inputs = distinct_inputs(lines)
    engine = open_engine(sqlite_url)
    worker = WorkerProcess(broker, topics, sqlite_url, DAY_START, batch_size=500)
    wait_for(lambda: summarize(engine).processed >= 500, 90, "the worker to get going")

    # When it gets SIGTERM mid-stream
    started = time.monotonic()
    worker.stop()  # asserts exit status 0
    stopping_s = time.monotonic() - started

    # Then it stopped within its outbox drain bound, with the outbox published
    at_stop = summarize(engine)
    assert at_stop.processed < inputs, "the signal came after the stream was done"
    assert stopping_s < Settings().shutdown_drain.total_seconds() + 10
    assert at_stop.outbox_backlog == 0
    # and the group's committed offsets cover exactly what it applied: no more (nothing
    # skipped on restart), no less (the batch in hand was committed with its offsets)
    committed = committed_offsets(broker, f"{topics.prefix}-engine", topics.inbound)
    records = read_topic(broker, topics.inbound, count=len(lines))
    with engine.connect() as c:
        applied = set(c.scalars(inbox_t.select().with_only_columns(inbox_t.c.message_key)))
    assert inbox_keys_of(records, committed) == applied

    # And a restarted worker finishes the stream as a clean replay would
    worker = WorkerProcess(broker, topics, sqlite_url, DAY_START, batch_size=500)
    try:
        wait_for(
            lambda: (s := summarize(engine)).processed == inputs and s.outbox_backlog == 0,
            120,
            "the restarted worker to finish",
        )
    finally:
        worker.stop()
    assert_as_clean_replay(engine, broker, topics, lines, workflow)
