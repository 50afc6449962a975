"""What the fault tests check once a failure is over: the store's complaints as (state,
version), and the event log read as its consumers read it, deduplicated by event_id."""

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, func, select

from complaintflow.state_store.tables import complaints_t, history_t
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
