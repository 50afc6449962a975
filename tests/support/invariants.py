"""What the fault tests check once a failure is over: the store's complaints as (state,
version), and the event log read as its consumers read it, deduplicated by event_id."""

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, func, select

from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.core.replay import replay
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.state_store.tables import aliases_t, complaints_t, history_t
from tests.support.broker import read_topic, values


def stored_states(engine: Engine) -> dict[str, tuple[str, int]]:
    """Each stored complaint's (state, version)."""
    with engine.connect() as c:
        rows = c.execute(
            select(complaints_t.c.complaint_id, complaints_t.c.state, complaints_t.c.version)
        )
        return {cid: (state, version) for cid, state, version in rows}


def history_counts(engine: Engine) -> tuple[int, int]:
    """How many history rows, and how many distinct event ids among them (equal: no entry
    was recorded twice)."""
    with engine.connect() as c:
        rows, distinct_ids = c.execute(
            select(func.count(), func.count(func.distinct(history_t.c.event_id)))
        ).one()
    return int(rows), int(distinct_ids)


def event_log_of(bootstrap: str, topic: str, engine: Engine, timeout: float = 60) -> list[Any]:
    """The event log's entries from the start, read until it holds every history entry of
    the store (the relay may still be publishing the last ones)."""
    with engine.connect() as c:
        wanted = set(c.scalars(select(history_t.c.event_id)))

    def complete(records: list[Any]) -> bool:
        return {json.loads(r.value)["event_id"] for r in records} >= wanted

    return values(read_topic(bootstrap, topic, enough=complete, timeout=timeout))


def versions_on_log(log: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Each complaint's versions in log order, deduplicated by event_id as consumers do (a
    relay killed or cut off mid-publish publishes a row again); asserts they run 1..n: a
    duplicate is allowed, a gap or a reordering is not."""
    seen: set[str] = set()
    versions: dict[str, list[int]] = defaultdict(list)
    for entry in log:
        if entry["event_id"] not in seen:
            seen.add(entry["event_id"])
            versions[entry["complaint_id"]].append(entry["version"])
    for cid, numbers in versions.items():
        assert numbers == list(range(1, len(numbers) + 1)), cid
    return dict(versions)


def by_group(
    final: dict[str, tuple[str, int]], aliases: dict[str, str]
) -> dict[frozenset[str], tuple[str, int]]:
    """(state, version) by merged group: a cross-channel duplicate on another partition may
    arrive first and become the surviving id, so compare each group, whichever id it kept."""
    members: dict[str, set[str]] = {cid: {cid} for cid in final}
    for merged, into in aliases.items():
        members[into].add(merged)
    return {frozenset(ids): final[cid] for cid, ids in members.items()}


def distinct_inputs(lines: list[bytes]) -> int:
    """How many inbox entries a stream makes: one per event_id, one per undecodable line."""
    keys: set[object] = set()
    for number, line in enumerate(lines):
        event = decode_event(line)
        keys.add(number if isinstance(event, Refusal) else event.event_id)
    return len(keys)


def assert_as_clean_replay(
    engine: Engine, bootstrap: str, topics: Topics, lines: list[bytes], workflow: Workflow
) -> None:
    """Once a fault is over: every complaint ends as a clean replay of the stream ends it, no
    history row is recorded twice, and the event log (deduplicated by event_id, as consumers
    read it) holds each complaint's whole history in order."""
    expected = replay(lines, workflow, fire_timers=False)
    with engine.connect() as c:
        aliases = dict(c.execute(select(aliases_t.c.merged_id, aliases_t.c.complaint_id)).all())
    assert by_group(stored_states(engine), aliases) == by_group(
        {cid: (c.state, c.version) for cid, c in expected.complaints.items()}, expected.aliases
    )
    rows, distinct_ids = history_counts(engine)
    assert rows == distinct_ids == sum(len(h) for h in expected.history.values())
    versions_on_log(event_log_of(bootstrap, topics.events, engine))
