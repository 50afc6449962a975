"""Limits that keep one message from stopping a partition: input over the size limit is refused
before it is parsed, every string and list of the contract is bounded with a short reason, and
an outcome whose message the broker would refuse never enters the outbox.

Contract: README, "The event contract (schema_version 1)", "Limits"."""

import base64
import json
import re
from datetime import timedelta
from typing import Any

import pytest

from complaintflow.engine.core import decoding
from complaintflow.engine.core.batch import BatchChanges, BatchContext, decide_batch, decode_batch
from complaintflow.engine.core.decoding import MAX_EVENT_BYTES, decode_event
from complaintflow.engine.core.messages import MAX_DEAD_LETTER_ORIGINAL, InboundMessage
from complaintflow.engine.core.outcome import MAX_REASON_BYTES, Refusal, RefusalKind
from complaintflow.engine.core.replay import replay
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.service.processing import BatchProcessor
from tests.support.builders import EXAMPLE_PAYLOADS, MONDAY_9, RECEIVED, envelope_dict, raw
from tests.support.fakes import FakeStore

TOPICS = Topics("complaints")
LATER = MONDAY_9 + timedelta(minutes=1)


def refused(value: bytes, **limits: int) -> Refusal:
    decoded = decode_event(value, **limits)
    assert isinstance(decoded, Refusal), decoded
    return decoded


def with_payload(type_: str, **fields: Any) -> bytes:
    return raw(type_, payload={**EXAMPLE_PAYLOADS[type_], **fields})


def messages(*values: bytes) -> list[InboundMessage]:
    return [
        InboundMessage(topic=TOPICS.inbound, partition=0, offset=n, key=b"C-1", value=v)
        for n, v in enumerate(values)
    ]


def decide(
    workflow: Workflow, values: list[bytes], *, max_event_bytes: int = MAX_EVENT_BYTES, **kw: Any
) -> BatchChanges:
    context = BatchContext(seen=set(), aliases={}, complaints={}, open_orders={})
    return decide_batch(
        decode_batch(messages(*values), max_bytes=max_event_bytes),
        context,
        workflow=workflow,
        now=MONDAY_9,
        topics=TOPICS,
        partition_of=lambda _: 0,
        **kw,
    )


def dead_letters(changes: BatchChanges) -> list[dict[str, Any]]:
    return [json.loads(m.value) for m in changes.outbox if m.topic == TOPICS.dlq]


# --- input over the size limit ---------------------------------------------------------------


def test_the_default_limit_is_one_mib() -> None:
    assert MAX_EVENT_BYTES == 1_048_576


def test_an_oversized_value_is_too_large_before_it_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a parser that fails the test if it is reached
    class NotToBeCalled:
        def validate_json(self, text: str) -> object:
            raise AssertionError("an oversized value was parsed")

    monkeypatch.setattr(decoding, "_ADAPTER", NotToBeCalled())
    # When 2 MB of invalid JSON (and of invalid UTF-8) is decoded
    for value in (b"{" * 2_000_000, b"\xff" * 2_000_000):
        refusal = refused(value)
        # Then it is too_large, not not_json or not_utf8
        assert refusal.kind is RefusalKind.TOO_LARGE
        assert refusal.reason == "too_large: 2000000 bytes, the limit is 1048576"


def test_a_value_at_the_limit_is_decoded() -> None:
    value = raw("agent.responded")
    assert not isinstance(decode_event(value, max_bytes=len(value)), Refusal)
    assert refused(value, max_bytes=len(value) - 1).kind is RefusalKind.TOO_LARGE


def test_an_oversized_message_is_dead_lettered_with_its_original_cut(workflow: Workflow) -> None:
    huge = b"{" * 2_000_000
    changes = decide(workflow, [huge])
    [record] = dead_letters(changes)
    assert changes.refusal_kinds == [RefusalKind.TOO_LARGE]
    assert record["reason"] == "too_large: 2000000 bytes, the limit is 1048576"
    assert record["truncated"] is True
    assert base64.b64decode(record["original"]) == huge[:MAX_DEAD_LETTER_ORIGINAL]


def test_the_batch_limit_is_a_parameter(workflow: Workflow) -> None:
    value = raw("complaint.received")
    changes = decide(workflow, [value], max_event_bytes=100)
    assert changes.refusal_kinds == [RefusalKind.TOO_LARGE]
    assert dead_letters(changes)[0]["reason"] == f"too_large: {len(value)} bytes, the limit is 100"


def test_the_batch_processor_passes_its_limit_to_the_decoder(workflow: Workflow) -> None:
    store = FakeStore(FixedClock(MONDAY_9))
    processor = BatchProcessor(
        store, workflow, store.clock, TOPICS, lambda _: 0, max_event_bytes=100
    )
    changes = processor.process(messages(raw("complaint.received")))
    assert changes.refusal_kinds == [RefusalKind.TOO_LARGE]
    assert not store.tables.complaints


def test_replay_refuses_an_oversized_line_as_the_worker_does(workflow: Workflow) -> None:
    big = b"{" + b" " * MAX_EVENT_BYTES + b"}"
    result = replay([raw("complaint.received"), big], workflow)
    assert [r.reason for r in result.refusals] == [
        f"too_large: {len(big)} bytes, the limit is {MAX_EVENT_BYTES}"
    ]
    assert replay([raw("complaint.received")], workflow, max_event_bytes=10).applied == 0


# --- bounded strings and lists -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "field", "limit"),
    [
        ("complaint.received", "description", 10_000),
        ("complaint.received", "customer_id", 128),
        ("complaint.received", "order_id", 128),
        ("complaint.regraded", "reason", 5_000),
        ("agent.responded", "agent_id", 128),
        ("agent.responded", "message", 5_000),
        ("collaboration.requested", "question", 5_000),
        ("department.replied", "responsible_party", 200),
        ("department.replied", "note", 5_000),
        ("complaint.resolved", "note", 5_000),
        ("customer.revisited", "comment", 5_000),
        ("complaint.reopened", "reason", 5_000),
        ("complaint.archived", "reason", 5_000),
    ],
)
def test_every_text_field_is_bounded(type_: str, field: str, limit: int) -> None:
    assert not isinstance(decode_event(with_payload(type_, **{field: "x" * limit})), Refusal)
    refusal = refused(with_payload(type_, **{field: "x" * (limit + 1)}))
    assert refusal.kind is RefusalKind.INVALID_PAYLOAD
    assert refusal.reason == (
        f"invalid payload for {type_}: payload.{field}: "
        f"String should have at most {limit} characters"
    )


@pytest.mark.parametrize("type_", ["evidence.requested", "evidence.submitted"])
def test_evidence_lists_hold_at_most_100_items_of_500_characters(type_: str) -> None:
    assert not isinstance(decode_event(with_payload(type_, items=["x" * 500] * 100)), Refusal)
    assert refused(with_payload(type_, items=["x" * 501])).reason == (
        f"invalid payload for {type_}: payload.items.0: String should have at most 500 characters"
    )
    assert refused(with_payload(type_, items=["x"] * 101)).reason == (
        f"invalid payload for {type_}: payload.items: "
        "List should have at most 100 items after validation, not 101"
    )


def test_a_list_of_120_000_items_is_refused_with_a_short_reason(workflow: Workflow) -> None:
    # Given a valid evidence.requested, but for its 120,000 items
    value = with_payload("evidence.requested", items=[f"photo {n}" for n in range(120_000)])
    assert len(value) < MAX_EVENT_BYTES * 2
    # When it is decided in a batch whose limit lets it through to the parser
    changes = decide(workflow, [value], max_event_bytes=len(value))
    # Then it is invalid_payload, naming the field and the limit in a short reason
    assert changes.refusal_kinds == [RefusalKind.INVALID_PAYLOAD]
    [record] = dead_letters(changes)
    assert record["reason"] == (
        "invalid payload for evidence.requested: payload.items: "
        "List should have at most 100 items after validation, not 120000"
    )


def test_120_000_wrong_items_still_make_a_short_reason() -> None:
    value = with_payload("evidence.submitted", items=[n for n in range(120_000)])
    reason = refused(value, max_bytes=len(value)).reason
    assert reason.startswith("invalid payload for evidence.submitted: payload.items")
    assert len(reason) < 300


@pytest.mark.parametrize(
    ("field", "value", "start"),
    [
        ("type", "x" * 500_000, "unknown event type 'xxx"),
        ("schema_version", "1" * 500_000, "unsupported schema_version '111"),
    ],
)
def test_a_huge_value_quoted_in_a_reason_is_cut(field: str, value: str, start: str) -> None:
    reason = refused(json.dumps({**envelope_dict("agent.responded"), field: value}).encode()).reason
    assert reason.startswith(start)
    assert len(reason.encode()) < 500
    assert "known types: " in reason or "this engine reads schema_version 1" in reason


def test_every_refusal_reason_fits_in_a_kilobyte() -> None:
    reason = Refusal(kind=RefusalKind.NOT_JSON, reason="é" * 5_000).reason
    assert len(reason.encode()) <= MAX_REASON_BYTES
    assert reason.endswith("...")
    assert Refusal(kind=RefusalKind.NOT_JSON, reason="short").reason == "short"


# --- outbound messages over the broker's limit -------------------------------------------------


TOO_LARGE_OUTBOUND = re.compile(
    r"too_large: its (\S+) on (\S+) would be (\d+) bytes, over the broker's limit of 2000"
)


def test_an_outcome_over_the_brokers_limit_refuses_its_input(workflow: Workflow) -> None:
    # Given a complaint, an answer whose re-emitted event would exceed the limit, then a small one
    big = raw("agent.responded", at=LATER, payload={"agent_id": "A1", "message": "x" * 3_000})
    small = raw("agent.responded", at=LATER, n=1)
    # When the batch is decided with a 2,000-byte outbound limit
    changes = decide(workflow, [raw("complaint.received"), big, small], max_outbound_bytes=2_000)
    # Then the big answer is dead-lettered as too_large, naming its message and topic
    assert changes.refusal_kinds == [RefusalKind.TOO_LARGE]
    [record] = dead_letters(changes)
    found = TOO_LARGE_OUTBOUND.fullmatch(record["reason"])
    assert found is not None, record["reason"]
    assert found.group(1, 2) == ("agent.responded", TOPICS.events)
    assert int(found.group(3)) > 3_000
    assert record["offset"] == 1
    # And nothing of it was applied: the small answer follows the grading with no gap
    assert (changes.applied, changes.refused) == (2, 1)
    assert [(e.version, e.type) for e in changes.history] == [
        (1, "complaint.received"),
        (2, "complaint.graded"),
        (3, "agent.responded"),
    ]
    assert str(changes.history[-1].event_id) == json.loads(small)["event_id"]
    assert changes.complaints["C-1"].state == "responded"
    assert all(len(m.value) <= 2_000 for m in changes.outbox if m.topic != TOPICS.dlq)
    assert [e.outcome for e in changes.inbox] == ["applied", "refused", "applied"]


def test_a_complaint_refused_for_its_outbound_size_does_not_exist(workflow: Workflow) -> None:
    # Given a complaint.received whose description makes its re-emitted event too large
    received = raw("complaint.received", payload={**RECEIVED, "description": "x" * 3_000})
    # When it is decided, followed by an answer to it
    changes = decide(
        workflow, [received, raw("agent.responded", at=LATER)], max_outbound_bytes=2_000
    )
    # Then no complaint, order claim or timer comes of it, and the answer finds no complaint
    assert changes.refusal_kinds == [RefusalKind.TOO_LARGE, RefusalKind.UNKNOWN_COMPLAINT]
    assert changes.complaints == {} and changes.history == []
    assert changes.open_orders == {} and changes.timers_set == {}
    assert [m.topic for m in changes.outbox] == [TOPICS.dlq, TOPICS.dlq]


def test_the_default_outbound_limit_lets_the_largest_valid_events_through(
    workflow: Workflow,
) -> None:
    # Given the largest values the contract allows, in every non-ASCII character JSON escapes
    description = "\u0001" * 10_000
    items = ["\u0001" * 500] * 100
    values = [
        raw("complaint.received", payload={**RECEIVED, "description": description}),
        raw("agent.responded", at=LATER),
        raw("evidence.requested", at=LATER, payload={"items": items, "requested_from": "customer"}),
        raw("evidence.submitted", at=LATER + timedelta(minutes=1), payload={"items": items}),
    ]
    # Then the default limit refuses none of them
    changes = decide(workflow, values)
    assert (changes.applied, changes.refused) == (4, 0)
