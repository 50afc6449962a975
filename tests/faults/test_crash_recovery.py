"""A worker process killed with SIGKILL mid-stream, then restarted: nothing lost, nothing
applied twice, the outbox drains, and the event log keeps each complaint's order."""

import pytest
from sqlalchemy import select

from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.core.replay import replay
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.entrypoints.cli.sample_day import sample_day
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.summary import summarize
from complaintflow.state_store.tables import aliases_t
from tests.support.broker import WorkerProcess, publish
from tests.support.invariants import (
    event_log_of,
    history_counts,
    stored_states,
    versions_on_log,
)
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
    stored = stored_states(engine)
    rows, distinct_ids = history_counts(engine)
    with engine.connect() as c:
        aliases = dict(c.execute(select(aliases_t.c.merged_id, aliases_t.c.complaint_id)).all())
    # (a cross-channel duplicate on another partition may arrive first and become the
    # surviving id: compare each merged group, whichever id it kept)
    assert by_group(stored, aliases) == by_group(
        {cid: (c.state, c.version) for cid, c in expected.complaints.items()}, expected.aliases
    )
    # no history row twice
    assert rows == distinct_ids == sum(len(h) for h in expected.history.values())
    # and the event log, deduplicated by event_id as consumers do, is the whole history in order
    versions_on_log(event_log_of(broker, topics.events, engine))
