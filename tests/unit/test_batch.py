"""Deciding a polled batch in memory: dead letters, duplicates and consumed timer firings."""

import base64
import json
from datetime import timedelta

from complaintflow.engine.core.batch import BatchChanges, BatchContext, decide_batch, decode_batch
from complaintflow.engine.core.messages import MAX_DEAD_LETTER_ORIGINAL, InboundMessage
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from tests.support.builders import MONDAY_9, raw

TOPICS = Topics("complaints")


def message(value: bytes | None, offset: int, key: bytes | None = b"C-1") -> InboundMessage:
    return InboundMessage(topic=TOPICS.inbound, partition=0, offset=offset, key=key, value=value)


def run(
    workflow: Workflow, values: list[bytes | None], seen: set[str] | None = None
) -> BatchChanges:
    decoded = decode_batch([message(v, i) for i, v in enumerate(values)])
    context = BatchContext(seen=seen or set(), aliases={}, complaints={}, open_orders={})
    return decide_batch(
        decoded, context, workflow=workflow, now=MONDAY_9, topics=TOPICS, partition_of=lambda _: 0
    )


def dead_letters(changes: BatchChanges) -> list[dict]:
    return [json.loads(m.value) for m in changes.outbox if m.topic == TOPICS.dlq]


def test_a_message_without_a_value_is_dead_lettered_with_a_null_original(
    workflow: Workflow,
) -> None:
    changes = run(workflow, [None])
    assert dead_letters(changes) == [
        {
            "reason": "message has no value",
            "topic": TOPICS.inbound,
            "partition": 0,
            "offset": 0,
            "key": base64.b64encode(b"C-1").decode(),
            "original": None,
            "truncated": False,
        }
    ]


def test_an_oversized_refusal_keeps_its_first_512_kib(workflow: Workflow) -> None:
    huge = b"\xff" * (MAX_DEAD_LETTER_ORIGINAL + 10)
    [record] = dead_letters(run(workflow, [huge]))
    assert record["truncated"] is True
    assert base64.b64decode(record["original"]) == huge[:MAX_DEAD_LETTER_ORIGINAL]


def test_a_duplicate_is_counted_once_and_applied_once(workflow: Workflow) -> None:
    received = raw("complaint.received")
    changes = run(workflow, [received, received, received])
    assert (changes.applied, changes.duplicates, changes.refused) == (1, 2, 0)
    assert [e.version for e in changes.history] == [1, 2]


def test_a_redelivered_timer_firing_still_consumes_its_row(workflow: Workflow) -> None:
    due = MONDAY_9 + timedelta(minutes=3)
    firing = raw("timer.fired", payload={"key": "first_response.breach", "due_at": due.isoformat()})
    event_id = json.loads(firing)["event_id"]
    changes = run(workflow, [firing], seen={event_id})
    assert changes.duplicates == 1
    assert changes.timers_fired == [("C-1", "first_response.breach", due)]


def test_events_of_one_complaint_chain_within_a_batch(workflow: Workflow) -> None:
    changes = run(
        workflow,
        [raw("complaint.received"), raw("agent.responded", at=MONDAY_9 + timedelta(minutes=1))],
    )
    assert changes.complaints["C-1"].state == "responded"
    assert changes.loaded_versions == {"C-1": None}
    assert [(e.version, e.type) for e in changes.history][-1] == (3, "agent.responded")
    assert changes.open_orders == {("U1", "O1"): ("C-1", MONDAY_9)}
    assert changes.orders_read == {("U1", "O1"): None}
