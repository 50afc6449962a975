"""A worker process killed with SIGKILL mid-stream, then restarted: nothing lost, nothing
applied twice, the outbox drains, and the event log keeps each complaint's order."""

import json
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import func, select

from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.core.replay import replay
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.entrypoints.cli.sample_day import sample_day
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.summary import summarize
from complaintflow.state_store.tables import aliases_t, complaints_t, history_t
from tests.support.broker import WorkerProcess, publish, read_topic, values
from tests.support.waiting import wait_for

# the clock stands (almost) still where the day starts: no timer comes due mid-test
DAY_START = "2025-07-15T08:00:00+08:00"


def by_group(
    final: dict[str, tuple[str, int]], aliases: dict[str, str]
) -> dict[frozenset[str], tuple[str, int]]:
    members: dict[str, set[str]] = {cid: {cid} for cid in final}
    for merged, into in aliases.items():
        members[into].add(merged)
    return {frozenset(ids): final[cid] for cid, ids in members.items()}


def distinct_inputs(lines: list[bytes]) -> int:
    keys = set()
    for number, line in enumerate(lines):
        event = decode_event(line)
        keys.add(number if isinstance(event, Refusal) else event.event_id)
    return len(keys)


@pytest.mark.slow  # about 20 s: a worker killed with SIGKILL mid-stream, then restarted
def test_sigkill_mid_stream_then_restart(
    broker: str, topics: Topics, sqlite_url: str, workflow: Workflow
) -> None:
    # Given a realistic stream (duplicates, merges and malformed lines included) on the topic
    lines = sample_day(complaints=250, seed=5)
    keyed = []
    for line in lines:
        event = decode_event(line)
        keyed.append((None if isinstance(event, Refusal) else event.complaint_id.encode(), line))
    publish(broker, topics.inbound, keyed)
    expected = replay(lines, workflow, fire_timers=False)
    inputs = distinct_inputs(lines)
    engine = open_engine(sqlite_url)

    # When the worker is killed with SIGKILL in the middle of it
    worker = WorkerProcess(broker, topics, sqlite_url, DAY_START)
    wait_for(lambda: summarize(engine).processed >= 300, 90, "the worker to get going")
    worker.kill()
    at_kill = summarize(engine).processed
    assert at_kill < inputs, "the kill came after the stream was done; nothing was tested"

    # and restarted
    worker = WorkerProcess(broker, topics, sqlite_url, DAY_START)
    try:
        wait_for(
            lambda: (s := summarize(engine)).processed == inputs and s.outbox_backlog == 0,
            120,
            "the restarted worker to finish and drain the outbox",
        )
    finally:
        worker.stop()

    # Then every complaint ends as a clean replay ends it
    with engine.connect() as c:
        stored = {
            cid: (state, version)
            for cid, state, version in c.execute(
                select(complaints_t.c.complaint_id, complaints_t.c.state, complaints_t.c.version)
            )
        }
        rows, distinct_ids = c.execute(
            select(func.count(), func.count(func.distinct(history_t.c.event_id)))
        ).one()
        aliases = dict(c.execute(select(aliases_t.c.merged_id, aliases_t.c.complaint_id)).all())
    # (a cross-channel duplicate on another partition may arrive first and become the
    # surviving id: compare each merged group, whichever id it kept)
    assert by_group(stored, aliases) == by_group(
        {cid: (c.state, c.version) for cid, c in expected.complaints.items()}, expected.aliases
    )
    # no history row twice
    assert rows == distinct_ids == sum(len(h) for h in expected.history.values())
    # and the event log, deduplicated by event_id as consumers do, is the whole history in order
    with engine.connect() as c:
        wanted = set(c.scalars(select(history_t.c.event_id)))

    def complete(records: list[Any]) -> bool:
        return {json.loads(r.value)["event_id"] for r in records} >= wanted

    log = values(read_topic(broker, topics.events, enough=complete, timeout=60))
    seen: set[str] = set()
    versions: dict[str, list[int]] = defaultdict(list)
    for entry in log:
        if entry["event_id"] not in seen:
            seen.add(entry["event_id"])
            versions[entry["complaint_id"]].append(entry["version"])
    for cid, numbers in versions.items():
        assert numbers == list(range(1, len(numbers) + 1)), cid
