"""Every refusal carries its kind, set where it is made (the `reason` label of the refused-input
counter), beside the reason text that goes to complaints.dlq unchanged."""

import json
from datetime import timedelta
from typing import Any

import pytest

from complaintflow.engine.core import decoding
from complaintflow.engine.core.batch import BatchContext, decide_batch, decode_batch
from complaintflow.engine.core.decision import decide
from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.core.outcome import Refusal, RefusalKind
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from tests.support.builders import MONDAY_9, Story, envelope_dict, event, raw

TOPICS = Topics("complaints")


def with_field(**changes: Any) -> bytes:
    return json.dumps({**envelope_dict("agent.responded"), **changes}).encode()


def refused(value: bytes | None) -> Refusal:
    decoded = decode_event(value)
    assert isinstance(decoded, Refusal), decoded
    return decoded


@pytest.mark.parametrize(
    ("value", "kind", "reason"),
    [
        (None, RefusalKind.NO_VALUE, "message has no value"),
        (b"\xff", RefusalKind.NOT_UTF8, "not UTF-8: invalid byte at position 0"),
        (b"{", RefusalKind.NOT_JSON, "not JSON: "),
        (b"", RefusalKind.NOT_JSON, "not JSON: "),
        (b"[1, 2]", RefusalKind.NOT_JSON, "not a JSON object: "),
        (b"{}", RefusalKind.INVALID_ENVELOPE, "invalid envelope: type: field required"),
        (
            with_field(occurred_at="2025-07-14T09:00:00"),
            RefusalKind.INVALID_ENVELOPE,
            "invalid envelope for agent.responded: occurred_at: ",
        ),
        (
            raw("agent.responded", payload={"agent_id": "A1", "message": "a\u0000b"}),
            RefusalKind.INVALID_ENVELOPE,
            "invalid envelope for agent.responded: contains a NUL",
        ),
        (with_field(type="agent.waved"), RefusalKind.UNKNOWN_TYPE, "unknown event type "),
        (
            with_field(schema_version=2),
            RefusalKind.UNSUPPORTED_SCHEMA_VERSION,
            "unsupported schema_version 2; ",
        ),
        (
            with_field(payload={"agent_id": "A1"}),
            RefusalKind.INVALID_PAYLOAD,
            "invalid payload for agent.responded: ",
        ),
    ],
    ids=[
        "none",
        "not-utf8",
        "not-json",
        "empty",
        "array",
        "no-type",
        "naive-time",
        "nul",
        "unknown-type",
        "schema-version",
        "payload",
    ],
)
def test_every_decoding_refusal_has_its_kind(
    value: bytes | None, kind: RefusalKind, reason: str
) -> None:
    refusal = refused(value)
    assert refusal.kind is kind
    assert refusal.reason.startswith(reason), refusal.reason


def test_an_exception_the_decoder_did_not_expect_is_not_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Exploding:
        def validate_json(self, text: str) -> object:
            raise RecursionError("too deep")

    monkeypatch.setattr(decoding, "_ADAPTER", Exploding())
    refusal = refused(b"[[[[]]]]")
    assert refusal.kind is RefusalKind.NOT_JSON
    assert refusal.reason == "undecodable input: RecursionError: too deep"


def test_an_event_for_a_complaint_that_does_not_exist_is_unknown_complaint(
    workflow: Workflow,
) -> None:
    outcome = decide(None, event("agent.responded", complaint_id="C-404"), MONDAY_9, workflow)
    assert outcome.refusal is not None
    assert outcome.refusal.kind is RefusalKind.UNKNOWN_COMPLAINT
    assert "C-404 does not exist" in outcome.refusal.reason


def test_a_second_complaint_received_is_duplicate_complaint(workflow: Workflow) -> None:
    story = Story(workflow)
    story.apply("complaint.received", MONDAY_9)
    outcome = story.attempt("complaint.received", MONDAY_9 + timedelta(minutes=1), n=1)
    assert outcome.refusal is not None
    assert outcome.refusal.kind is RefusalKind.DUPLICATE_COMPLAINT
    assert outcome.refusal.reason == (
        "complaint.received not allowed in state graded: complaint C-1 already exists"
    )


def test_an_event_without_a_transition_is_not_allowed_in_state(workflow: Workflow) -> None:
    story = Story(workflow)
    story.apply("complaint.received", MONDAY_9)
    outcome = story.attempt("complaint.archived", MONDAY_9 + timedelta(minutes=1))
    assert outcome.refusal is not None
    assert outcome.refusal.kind is RefusalKind.NOT_ALLOWED_IN_STATE
    assert outcome.refusal.reason == "complaint.archived not allowed in state graded"


def test_an_event_whose_guards_fail_is_not_allowed_in_state(workflow: Workflow) -> None:
    story = Story(workflow)
    story.apply("complaint.received", MONDAY_9)
    story.apply("agent.responded", MONDAY_9 + timedelta(minutes=1))
    story.apply("collaboration.requested", MONDAY_9 + timedelta(minutes=2))
    outcome = story.attempt("collaboration.requested", MONDAY_9 + timedelta(minutes=3))
    assert outcome.refusal is not None
    assert outcome.refusal.kind is RefusalKind.NOT_ALLOWED_IN_STATE
    assert outcome.refusal.reason == (
        "collaboration.requested not allowed in state collaboration: "
        "that department already has an open collaboration request"
    )


def test_a_batch_keeps_each_refusals_kind_and_dead_letters_its_reason(
    workflow: Workflow,
) -> None:
    values = [None, b"{", raw("agent.responded", complaint_id="C-404")]
    messages = [
        InboundMessage(topic=TOPICS.inbound, partition=0, offset=i, key=b"k", value=v)
        for i, v in enumerate(values)
    ]
    context = BatchContext(seen=set(), aliases={}, complaints={}, open_orders={})
    changes = decide_batch(
        decode_batch(messages),
        context,
        workflow=workflow,
        now=MONDAY_9,
        topics=TOPICS,
        partition_of=lambda _: 0,
    )
    assert changes.refused == 3
    assert changes.refusal_kinds == [
        RefusalKind.NO_VALUE,
        RefusalKind.NOT_JSON,
        RefusalKind.UNKNOWN_COMPLAINT,
    ]
    reasons = [json.loads(m.value)["reason"] for m in changes.outbox if m.topic == TOPICS.dlq]
    assert reasons[0] == "message has no value"
    assert reasons[1].startswith("not JSON: ")
    assert reasons[2].startswith("agent.responded refused: complaint C-404 does not exist")
