"""A poison event: the decision raises on one event (a bug, not bad input). That event is
dead-lettered as internal_error with nothing of it applied, and the rest of the batch goes on."""

import base64
import functools
import json
import logging
from datetime import datetime, timedelta
from typing import Any

import pytest

from complaintflow.engine.core.batch import (
    BatchChanges,
    BatchContext,
    Decide,
    decide_batch,
    decode_batch,
)
from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.decision import decide
from complaintflow.engine.core.events import InboundEvent
from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.core.outcome import Outcome, RefusalKind
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.service import processing
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.service.processing import BatchProcessor
from tests.support.builders import MONDAY_9, RECEIVED, raw
from tests.support.fakes import FakeStore

TOPICS = Topics("complaints")
LATER = MONDAY_9 + timedelta(minutes=1)


def failing_on(event_id: str, error: Exception) -> Decide:
    """The real decision, except that it raises `error` on the event with `event_id`."""

    def decide_event(
        complaint: Complaint | None,
        event: InboundEvent,
        now: datetime,
        workflow: Workflow,
        candidate: Complaint | None,
    ) -> Outcome:
        if str(event.event_id) == event_id:
            raise error
        return decide(complaint, event, now, workflow, candidate)

    return decide_event


def event_id(value: bytes) -> str:
    return str(json.loads(value)["event_id"])


def messages(*values: bytes) -> list[InboundMessage]:
    return [
        InboundMessage(topic=TOPICS.inbound, partition=0, offset=n, key=b"k", value=v)
        for n, v in enumerate(values)
    ]


def decide_all(workflow: Workflow, values: list[bytes], **kw: Any) -> BatchChanges:
    context = BatchContext(seen=set(), aliases={}, complaints={}, open_orders={})
    return decide_batch(
        decode_batch(messages(*values)),
        context,
        workflow=workflow,
        now=MONDAY_9,
        topics=TOPICS,
        partition_of=lambda _: 0,
        **kw,
    )


def dead_letters(changes: BatchChanges) -> list[dict[str, Any]]:
    return [json.loads(m.value) for m in changes.outbox if m.topic == TOPICS.dlq]


def second_customer() -> dict[str, Any]:
    return {**RECEIVED, "customer_id": "U2", "order_id": "O2"}


def test_a_poison_event_is_dead_lettered_and_the_batch_goes_on(workflow: Workflow) -> None:
    # Given two complaints, an answer to C-2 the decision fails on, then answers to both
    poison = raw("agent.responded", complaint_id="C-2", at=LATER)
    retry = raw("agent.responded", complaint_id="C-2", at=LATER, n=1)
    values = [
        raw("complaint.received"),
        raw("complaint.received", complaint_id="C-2", payload=second_customer()),
        poison,
        raw("agent.responded", at=LATER),
        retry,
    ]
    # When the batch is decided
    changes = decide_all(
        workflow, values, decide_event=failing_on(event_id(poison), KeyError("deadline"))
    )
    # Then the poison event is dead-lettered as internal_error, naming the exception
    assert changes.refusal_kinds == [RefusalKind.INTERNAL_ERROR]
    [record] = dead_letters(changes)
    assert record["reason"] == "internal_error: KeyError: 'deadline'"
    assert record["offset"] == 2
    assert base64.b64decode(record["original"]) == poison
    assert [(key, type(exc)) for key, exc in changes.internal_errors] == [
        (event_id(poison), KeyError)
    ]
    # And every other event is applied; C-2's next answer found it as it was before the poison
    assert (changes.applied, changes.refused) == (4, 1)
    assert {cid: c.state for cid, c in changes.complaints.items()} == {
        "C-1": "responded",
        "C-2": "responded",
    }
    c2 = [(e.version, e.type) for e in changes.history if e.complaint_id == "C-2"]
    assert c2 == [(1, "complaint.received"), (2, "complaint.graded"), (3, "agent.responded")]
    assert [e.outcome for e in changes.inbox] == [
        "applied",
        "applied",
        "refused",
        "applied",
        "applied",
    ]


def test_a_poisoned_complaint_received_creates_nothing(workflow: Workflow) -> None:
    received = raw("complaint.received")
    changes = decide_all(
        workflow,
        [received, raw("agent.responded", at=LATER)],
        decide_event=failing_on(event_id(received), ValueError("boom")),
    )
    assert changes.refusal_kinds == [RefusalKind.INTERNAL_ERROR, RefusalKind.UNKNOWN_COMPLAINT]
    assert changes.complaints == {} and changes.open_orders == {} and changes.timers_set == {}


def test_a_long_exception_message_is_cut(workflow: Workflow) -> None:
    received = raw("complaint.received")
    changes = decide_all(
        workflow,
        [received],
        decide_event=failing_on(event_id(received), RuntimeError("x" * 10_000)),
    )
    [record] = dead_letters(changes)
    assert record["reason"] == f"internal_error: RuntimeError: {'x' * 300}..."


def test_a_poisoned_timer_firing_is_consumed(workflow: Workflow) -> None:
    # Given a firing the decision fails on: it must not come due again and fail forever
    due = MONDAY_9 + timedelta(minutes=3)
    firing = raw("timer.fired", payload={"key": "first_response.breach", "due_at": due.isoformat()})
    changes = decide_all(
        workflow,
        [raw("complaint.received"), firing],
        decide_event=failing_on(event_id(firing), ZeroDivisionError("division by zero")),
    )
    assert (
        dead_letters(changes)[0]["reason"] == "internal_error: ZeroDivisionError: division by zero"
    )
    assert changes.timers_fired == [("C-1", "first_response.breach", due)]


def test_the_processor_commits_the_batch_and_logs_the_traceback(
    workflow: Workflow, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a processor whose decision fails on one of two complaints
    poison = raw("complaint.received", complaint_id="C-2", payload=second_customer())
    monkeypatch.setattr(
        processing,
        "decide_batch",
        functools.partial(
            decide_batch, decide_event=failing_on(event_id(poison), KeyError("customer U42"))
        ),
    )
    store = FakeStore(FixedClock(MONDAY_9))
    processor = BatchProcessor(store, workflow, store.clock, TOPICS, lambda _: 0)
    # When it processes the batch
    with caplog.at_level(logging.ERROR, logger=processing.__name__):
        changes = processor.process(messages(raw("complaint.received"), poison))
    # Then the batch is written, the poison dead-lettered, and its traceback logged once
    assert (changes.applied, changes.refused, store.writes) == (1, 1, 1)
    assert set(store.tables.complaints) == {"C-1"}
    [logged] = caplog.records
    message = logged.getMessage()
    assert message.startswith(
        f"event {event_id(poison)} was dead-lettered as internal_error (KeyError), raised at:"
    )
    assert "File " in message  # where it raised, for the fix
    assert "U42" not in message and logged.exc_info is None  # it may quote the payload
