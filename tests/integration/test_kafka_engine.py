"""The engine on a real Tansu broker and SQLite: the event log, duplicates, dead letters."""

import base64
import json
from collections import defaultdict
from datetime import timedelta

from complaintflow.consumers.consumer_lag import ConsumerLag
from complaintflow.engine.core.replay import replay
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.settings import KafkaConnection, Settings
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.summary import summarize
from tests.support.broker import publish, read_topic, running_worker, values
from tests.support.builders import MONDAY_9, raw

T = MONDAY_9


def settings(topics: Topics, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        topic_prefix=topics.prefix,
        group_id=f"{topics.prefix}-engine",
        batch_size=200,
    )


def story(complaint_id: str) -> list[bytes]:
    return [
        raw(
            "complaint.received",
            complaint_id=complaint_id,
            at=T,
            payload={
                "customer_id": complaint_id,
                "channel": "web",
                "category": "logistics",
                "description": "late",
                "order_id": f"O-{complaint_id}",
            },
        ),
        raw("agent.responded", complaint_id=complaint_id, at=T + timedelta(minutes=2)),
        raw("collaboration.requested", complaint_id=complaint_id, at=T + timedelta(minutes=5)),
        raw(
            "department.replied",
            complaint_id=complaint_id,
            at=T + timedelta(hours=1),
            payload={"department": "logistics", "outcome": "accepted"},
        ),
        raw("complaint.resolved", complaint_id=complaint_id, at=T + timedelta(hours=2)),
    ]


def test_event_log_is_each_complaints_history_in_order(
    broker: str, topics: Topics, sqlite_url: str, workflow: Workflow
) -> None:
    # Given three complaints' stories interleaved on the inbound topic
    stories = {cid: story(cid) for cid in ("C-a", "C-b", "C-c")}
    lines = [line for step in zip(*stories.values(), strict=True) for line in step]
    publish(broker, topics.inbound, [(json.loads(v)["complaint_id"].encode(), v) for v in lines])
    expected = replay(lines, workflow, fire_timers=False)
    total = sum(len(h) for h in expected.history.values())
    # When a worker processes them
    with running_worker(settings(topics, sqlite_url), broker):
        log = values(read_topic(broker, topics.events, total))
    # Then every complaint's entries are numbered 1..N in order, as a clean replay gives them
    by_complaint: dict[str, list[dict]] = defaultdict(list)
    for entry in log:
        by_complaint[entry["complaint_id"]].append(entry)
    for cid, entries in by_complaint.items():
        assert [e["version"] for e in entries] == list(range(1, len(entries) + 1))
        assert [(e["type"], e["state"]) for e in entries] == [
            (h.type, h.state) for h in expected.history[cid]
        ]
    assert set(by_complaint) == {"C-a", "C-b", "C-c"}
    # and the department heard about its assignment on its own topic
    assignments = values(read_topic(broker, topics.assignments("logistics"), 3))
    assert {a["complaint_id"] for a in assignments} == {"C-a", "C-b", "C-c"}
    assert {a["type"] for a in assignments} == {"assignment.created"}


def test_the_same_event_published_five_times_is_applied_once(
    broker: str, topics: Topics, sqlite_url: str
) -> None:
    received = story("C-dup")[0]
    responded = story("C-dup")[1]
    publish(broker, topics.inbound, [(b"C-dup", received)] + [(b"C-dup", responded)] * 5)
    with running_worker(settings(topics, sqlite_url), broker):
        log = values(read_topic(broker, topics.events, 3))
    assert [(e["version"], e["type"]) for e in log] == [
        (1, "complaint.received"),
        (2, "complaint.graded"),
        (3, "agent.responded"),
    ]
    summary = summarize(open_engine(sqlite_url))
    assert summary.history_rows == 3
    assert summary.inbox == {"applied": 2}


def test_every_refusal_class_goes_to_the_dlq_with_reason_and_original_bytes(
    broker: str, topics: Topics, sqlite_url: str
) -> None:
    good = story("C-ok")[0]
    bad: list[tuple[bytes | None, bytes, str]] = [
        (None, b"\xff\xfe not utf-8", "not UTF-8: invalid byte at position 0"),
        (b"k", b"{oops", "not JSON: "),
        (b"k", b"[1]", "not a JSON object"),
        (
            b"C-ok",
            raw("agent.responded", complaint_id="C-ok").replace(
                b'"agent.responded"', b'"agent.waved"'
            ),
            "unknown event type 'agent.waved'",
        ),
        (
            b"C-ok",
            raw("agent.responded", complaint_id="C-ok").replace(
                b'"schema_version": 1', b'"schema_version": 2'
            ),
            "unsupported schema_version 2; this engine reads schema_version 1",
        ),
        (
            b"C-ok",
            raw("agent.responded", complaint_id="C-ok").replace(
                b'"occurred_at": "2025-07-14T09:00:00+08:00"',
                b'"occurred_at": "2025-07-14T09:00:00"',
            ),
            "invalid envelope for agent.responded: occurred_at: Input should have timezone info",
        ),
        (
            b"C-ok",
            raw("agent.responded", complaint_id="C-ok", payload={"agent_id": 7, "message": "x"}),
            "invalid payload for agent.responded: payload.agent_id: Input should be a valid string",
        ),
        (
            b"C-ok",
            raw("complaint.archived", complaint_id="C-ok"),
            "complaint.archived not allowed in state graded",
        ),
        (
            b"C-none",
            raw("agent.responded", complaint_id="C-none"),
            "agent.responded refused: complaint C-none does not exist "
            "(no complaint.received for it)",
        ),
    ]
    publish(broker, topics.inbound, [(b"C-ok", good)] + [(k, v) for k, v, _ in bad])
    with running_worker(settings(topics, sqlite_url), broker):
        records = read_topic(broker, topics.dlq, len(bad))
    dead = sorted(values(records), key=lambda d: (d["partition"], d["offset"]))
    by_original = {base64.b64decode(d["original"]): d for d in dead}
    assert len(by_original) == len(bad)
    for key, value, reason in bad:
        record = by_original[value]
        assert record["reason"].startswith(reason), record["reason"]
        assert record["topic"] == topics.inbound
        assert record["key"] == (None if key is None else base64.b64encode(key).decode())
        assert isinstance(record["partition"], int) and isinstance(record["offset"], int)
    assert set(dead[0]) == {
        "reason",
        "topic",
        "partition",
        "offset",
        "key",
        "original",
        "truncated",
    }
    assert not any(d["truncated"] for d in dead)


def test_a_worker_stopped_cleanly_leaves_nothing_to_redeliver(
    broker: str, topics: Topics, sqlite_url: str, workflow: Workflow
) -> None:
    # Given three complaints' events, all applied by a worker that then stops cleanly
    config = settings(topics, sqlite_url)
    lines = [line for cid in ("C-x", "C-y", "C-z") for line in story(cid)]
    publish(broker, topics.inbound, [(json.loads(v)["complaint_id"].encode(), v) for v in lines])
    expected = replay(lines, workflow, fire_timers=False)
    with running_worker(config, broker):
        read_topic(broker, topics.events, sum(len(h) for h in expected.history.values()))
    # Then its group's committed offsets are at the end of every partition
    lag = ConsumerLag(KafkaConnection.of(broker), config.group_id, topics.inbound)
    try:
        assert lag.by_partition() == {p: 0 for p in range(4)}
    finally:
        lag.close()
