"""`decode_event(bytes)`: every input becomes an inbound event or a `Refusal`, never an exception,
and each refusal's reason tells the publisher what to fix (it is what lands in complaints.dlq).

Contract: ARCHITECTURE.md, "the event envelope (schema_version 1)" and "Refused input"."""

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.events import (
    INBOUND_TYPES,
    AgentResponded,
    CollaborationRequested,
    ComplaintArchived,
    ComplaintEscalated,
    ComplaintReceived,
    ComplaintRegraded,
    ComplaintReopened,
    ComplaintResolved,
    CustomerRevisited,
    DepartmentReplied,
    Envelope,
    EvidenceRequested,
    EvidenceSubmitted,
    TimerFired,
)
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.core.payloads import (
    AgentRespondedPayload,
    CollaborationRequestedPayload,
    ComplaintArchivedPayload,
    ComplaintEscalatedPayload,
    ComplaintReceivedPayload,
    ComplaintRegradedPayload,
    ComplaintReopenedPayload,
    ComplaintResolvedPayload,
    CustomerRevisitedPayload,
    DepartmentRepliedPayload,
    EvidenceRequestedPayload,
    EvidenceSubmittedPayload,
    TimerFiredPayload,
)
from complaintflow.engine.core.vocabulary import Category, Channel, CustomerTier
from tests.support.builders import EXAMPLE_PAYLOADS, MONDAY_9, RECEIVED, envelope_dict

# The contract's table, written out rather than derived, so a renamed class or type shows up.
CLASSES: dict[str, tuple[type[Envelope], type]] = {
    "complaint.received": (ComplaintReceived, ComplaintReceivedPayload),
    "complaint.regraded": (ComplaintRegraded, ComplaintRegradedPayload),
    "agent.responded": (AgentResponded, AgentRespondedPayload),
    "evidence.requested": (EvidenceRequested, EvidenceRequestedPayload),
    "evidence.submitted": (EvidenceSubmitted, EvidenceSubmittedPayload),
    "collaboration.requested": (CollaborationRequested, CollaborationRequestedPayload),
    "department.replied": (DepartmentReplied, DepartmentRepliedPayload),
    "complaint.escalated": (ComplaintEscalated, ComplaintEscalatedPayload),
    "complaint.resolved": (ComplaintResolved, ComplaintResolvedPayload),
    "customer.revisited": (CustomerRevisited, CustomerRevisitedPayload),
    "complaint.reopened": (ComplaintReopened, ComplaintReopenedPayload),
    "complaint.archived": (ComplaintArchived, ComplaintArchivedPayload),
    "timer.fired": (TimerFired, TimerFiredPayload),
}

NOT_AN_OBJECT = "not a JSON object: an envelope is an object with event_id, type, complaint_id, ..."
ID_PATTERN = "'^[A-Za-z0-9._:-]{1,64}$'"


def encode(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope).encode()


def refusal_of(raw: bytes) -> str:
    """Decode `raw`, assert it was refused, and return the reason."""
    decoded = decode_event(raw)
    assert isinstance(decoded, Refusal), f"expected a refusal, got {decoded!r}"
    return decoded.reason


def with_changes(type_: str = "agent.responded", **changes: Any) -> bytes:
    """An otherwise valid envelope of `type_` with top-level fields replaced."""
    return encode({**envelope_dict(type_), **changes})


def with_payload(type_: str, **changes: Any) -> bytes:
    """An otherwise valid envelope of `type_` whose example payload has fields replaced."""
    return encode(envelope_dict(type_, payload={**EXAMPLE_PAYLOADS[type_], **changes}))


def without(type_: str, key: str, *, in_payload: bool = False) -> bytes:
    envelope = envelope_dict(type_)
    if in_payload:
        envelope["payload"] = {k: v for k, v in envelope["payload"].items() if k != key}
    else:
        del envelope[key]
    return encode(envelope)


# --- valid envelopes -----------------------------------------------------------------------


def test_the_examples_and_the_class_table_cover_every_inbound_type() -> None:
    assert set(EXAMPLE_PAYLOADS) == set(INBOUND_TYPES) == set(CLASSES)


@pytest.mark.parametrize("type_", sorted(EXAMPLE_PAYLOADS))
def test_a_valid_envelope_decodes_to_its_class_with_a_typed_payload(type_: str) -> None:
    # Given a valid envelope of `type_` as upstream publishes it
    envelope = envelope_dict(type_, complaint_id="C-20250715-0001")
    # When it is decoded
    decoded = decode_event(encode(envelope))
    # Then it is the class of that type, every envelope field typed, the payload its model
    event_class, payload_class = CLASSES[type_]
    assert type(decoded) is event_class
    assert type(decoded.payload) is payload_class
    assert decoded.type == type_
    assert decoded.event_id == UUID(envelope["event_id"])
    assert decoded.complaint_id == "C-20250715-0001"
    assert decoded.occurred_at == MONDAY_9
    assert decoded.occurred_at.utcoffset() == timedelta(hours=8)
    assert decoded.source == "test"
    assert decoded.schema_version == 1
    # and the payload carries exactly what was sent (defaults may add fields)
    dumped = decoded.payload.model_dump(mode="json")
    assert {k: dumped[k] for k in EXAMPLE_PAYLOADS[type_]} == EXAMPLE_PAYLOADS[type_]


def test_payload_values_become_domain_types_not_strings() -> None:
    decoded = decode_event(encode(envelope_dict("complaint.received")))
    assert isinstance(decoded, ComplaintReceived)
    p = decoded.payload
    assert p.channel is Channel.APP
    assert p.category is Category.REFUND
    assert p.customer_tier is CustomerTier.REGULAR  # the default when the field is absent
    assert isinstance(p.amount, Decimal) and p.amount == Decimal("129.90")


def test_a_timer_payload_due_at_is_an_aware_datetime() -> None:
    decoded = decode_event(encode(envelope_dict("timer.fired")))
    assert isinstance(decoded, TimerFired)
    assert isinstance(decoded.payload.due_at, datetime)
    assert decoded.payload.due_at == MONDAY_9 + timedelta(minutes=3)


@pytest.mark.parametrize("complaint_id", ["C", "x" * 64, "crm:C-2025.07.15_0001", "ABCxyz0189._:-"])
def test_complaint_ids_inside_the_pattern_are_accepted(complaint_id: str) -> None:
    decoded = decode_event(with_changes(complaint_id=complaint_id))
    assert isinstance(decoded, AgentResponded)
    assert decoded.complaint_id == complaint_id


def test_occurred_at_in_utc_with_z_is_timezone_aware() -> None:
    decoded = decode_event(with_changes(occurred_at="2025-07-14T01:00:00Z"))
    assert isinstance(decoded, AgentResponded)
    assert decoded.occurred_at == MONDAY_9


# --- unknown fields are ignored (contract: adding fields is fine) --------------------------


def test_unknown_fields_in_envelope_and_payload_are_ignored() -> None:
    # Given a valid envelope with fields a newer publisher added, at both levels
    plain = envelope_dict("complaint.received")
    extended = {
        **plain,
        "trace_id": "abc",
        "headers": {"x": [1, 2]},
        "payload": {**plain["payload"], "locale": "zh-CN", "attachments": [{"n": 1}]},
    }
    # When both are decoded
    decoded = decode_event(encode(extended))
    # Then the extended one is accepted and reads exactly like the plain one
    assert isinstance(decoded, ComplaintReceived)
    assert decoded == decode_event(encode(plain))
    assert "locale" not in decoded.payload.model_dump()


# --- bytes that are not UTF-8 JSON ---------------------------------------------------------


def test_bytes_that_are_not_utf8_are_refused_with_the_position() -> None:
    assert refusal_of(b"\xff\xfe{}") == "not UTF-8: invalid byte at position 0"
    assert refusal_of(b'{"type": "\xe9"}') == "not UTF-8: invalid byte at position 10"


def test_a_tombstone_without_a_value_is_refused() -> None:
    assert refusal_of(None) == "message has no value"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b"{not json", "line 1 column 2"),
        (b'{"type": "agent.responded"', "line 1 column 26"),
        (b"", "line 1 column 0"),
        (b"\xef\xbb\xbf{}", "line 1 column 1"),  # a byte-order mark is not JSON
    ],
)
def test_text_that_is_not_json_is_refused_with_the_place(raw: bytes, where: str) -> None:
    reason = refusal_of(raw)
    assert reason.startswith("not JSON: ")
    assert reason.endswith(where)


@pytest.mark.parametrize("raw", [b"[]", b'[{"type": "agent.responded"}]', b"42", b"12.5"])
def test_json_lists_and_numbers_are_not_envelopes(raw: bytes) -> None:
    assert refusal_of(raw) == NOT_AN_OBJECT


@pytest.mark.parametrize("raw", [b'"agent.responded"', b"null", b"true"])
def test_json_strings_and_literals_are_not_envelopes(raw: bytes) -> None:
    assert refusal_of(raw) == NOT_AN_OBJECT


def test_an_envelope_nested_too_deep_is_refused_not_raised() -> None:
    reason = refusal_of(b"[" * 50_000 + b"]" * 50_000)
    assert reason.startswith("not JSON: recursion limit exceeded")


# --- the envelope --------------------------------------------------------------------------


def test_a_missing_type_is_refused() -> None:
    reason = refusal_of(without("agent.responded", "type"))
    assert reason == "invalid envelope: type: field required"


@pytest.mark.parametrize("bad_type", ["complaint.deleted", "Agent.Responded", ""])
def test_an_unknown_type_is_refused_listing_the_known_types(bad_type: str) -> None:
    reason = refusal_of(with_changes(type=bad_type))
    assert reason.startswith(f"unknown event type {bad_type!r}; known types: ")
    listed = reason.split("; known types: ", 1)[1].split(", ")
    assert listed == list(INBOUND_TYPES)


def test_an_unknown_schema_version_of_a_known_type_is_refused() -> None:
    reason = refusal_of(with_changes(schema_version=2))
    assert reason == "unsupported schema_version 2; this engine reads schema_version 1"


def test_an_unknown_schema_version_is_named_even_when_the_payload_differs_too() -> None:
    # A version-2 publisher may have changed the payload: the version is the thing to report.
    raw = encode({**envelope_dict("agent.responded", payload={"agent": "A1"}), "schema_version": 2})
    assert refusal_of(raw) == "unsupported schema_version 2; this engine reads schema_version 1"


def test_a_missing_schema_version_is_refused() -> None:
    reason = refusal_of(without("agent.responded", "schema_version"))
    assert reason == "invalid envelope for agent.responded: schema_version: Field required"


def test_a_string_schema_version_is_refused() -> None:
    reason = refusal_of(with_changes(schema_version="1"))
    assert reason.startswith("unsupported schema_version '1'")


def test_a_boolean_schema_version_is_refused() -> None:
    # JSON true equals 1 to Python; strict models refuse 1 for true, and true for 1 too.
    reason = refusal_of(with_changes(schema_version=True))
    assert reason == (
        "invalid envelope for agent.responded: schema_version: "
        "schema_version must be the number 1, not a boolean"
    )


def test_a_naive_occurred_at_is_refused() -> None:
    reason = refusal_of(with_changes(occurred_at="2025-07-15T10:02:00"))
    assert reason == (
        "invalid envelope for agent.responded: occurred_at: Input should have timezone info"
    )


@pytest.mark.parametrize("number", [1752454800, 1752454800.5])
def test_occurred_at_as_a_number_is_refused(number: float) -> None:
    reason = refusal_of(with_changes(occurred_at=number))
    assert reason == (
        "invalid envelope for agent.responded: occurred_at: Input should be a valid datetime"
    )


@pytest.mark.parametrize("complaint_id", ["x" * 65, "C 1", "", "C-1\n", "C/1", "Cé-1"], ids=repr)
def test_a_complaint_id_outside_the_pattern_is_refused(complaint_id: str) -> None:
    reason = refusal_of(with_changes(complaint_id=complaint_id))
    assert reason == (
        "invalid envelope for agent.responded: complaint_id: "
        f"String should match pattern {ID_PATTERN}"
    )


@pytest.mark.parametrize("event_id", ["not-a-uuid", "123", "ed94b167-1300-53c7-b953"])
def test_an_event_id_that_is_not_a_uuid_is_refused(event_id: str) -> None:
    reason = refusal_of(with_changes(event_id=event_id))
    assert reason.startswith(
        "invalid envelope for agent.responded: event_id: Input should be a valid UUID"
    )


def test_an_event_id_as_a_number_is_refused() -> None:
    reason = refusal_of(with_changes(event_id=5))
    assert reason.startswith("invalid envelope for agent.responded: event_id: ")
    assert "UUID" in reason


def test_an_empty_source_is_refused() -> None:
    reason = refusal_of(with_changes(source=""))
    assert reason == (
        "invalid envelope for agent.responded: source: String should have at least 1 character"
    )


def test_several_envelope_errors_are_all_named() -> None:
    raw = encode({"type": "agent.responded"})
    reason = refusal_of(raw)
    assert reason.startswith("invalid envelope for agent.responded: event_id: Field required; ")
    for field_name in ("complaint_id", "occurred_at", "source", "schema_version"):
        assert f"{field_name}: Field required" in reason
    assert reason.endswith("(+1 more)")  # payload is the sixth; only five are spelled out


# --- the payload ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            with_payload("agent.responded", agent_id=5),
            "invalid payload for agent.responded: payload.agent_id: Input should be a valid string",
        ),
        (
            with_payload("customer.revisited", reached=1),
            "invalid payload for customer.revisited: payload.reached: "
            "Input should be a valid boolean",
        ),
        (
            with_payload("customer.revisited", satisfied="true"),
            "invalid payload for customer.revisited: payload.satisfied: "
            "Input should be a valid boolean",
        ),
        (
            with_payload("customer.revisited", csat="5"),
            "invalid payload for customer.revisited: payload.csat: Input should be a valid integer",
        ),
        (
            with_payload("evidence.submitted", items="photo.jpg"),
            "invalid payload for evidence.submitted: payload.items: Input should be a valid array",
        ),
    ],
    ids=["number-for-string", "1-for-true", "string-for-bool", "string-for-int", "str-for-list"],
)
def test_a_payload_field_of_the_wrong_json_type_is_refused(raw: bytes, reason: str) -> None:
    assert refusal_of(raw) == reason


@pytest.mark.parametrize("type_", ["complaint.received", "complaint.resolved"])
@pytest.mark.parametrize("amount", [12.5, 12, "12,50", "1e3", ""])
def test_an_amount_that_is_not_a_decimal_string_is_refused(type_: str, amount: Any) -> None:
    reason = refusal_of(with_payload(type_, amount=amount))
    assert reason == (
        f"invalid payload for {type_}: payload.amount: "
        'amount must be a decimal string such as "129.90"'
    )


def test_a_negative_amount_is_refused() -> None:
    reason = refusal_of(with_payload("complaint.resolved", amount="-1.00"))
    assert reason == (
        "invalid payload for complaint.resolved: payload.amount: "
        "Input should be greater than or equal to 0"
    )


def test_a_channel_outside_the_vocabulary_is_refused_listing_the_channels() -> None:
    reason = refusal_of(with_payload("complaint.received", channel="fax"))
    assert reason == (
        "invalid payload for complaint.received: payload.channel: "
        "Input should be 'phone', 'web', 'app', 'email', 'social', 'store' or 'chat'"
    )


@pytest.mark.parametrize(
    ("type_", "field_name", "value"),
    [
        ("complaint.received", "category", "shipping"),
        ("complaint.regraded", "priority", "P0"),
        ("department.replied", "department", "legal"),
        ("department.replied", "outcome", "maybe"),
        ("complaint.escalated", "level", "ceo"),
        ("complaint.resolved", "resolution", "apology"),
        ("evidence.requested", "requested_from", "agent"),
    ],
)
def test_any_enum_value_outside_the_vocabulary_is_refused(
    type_: str, field_name: str, value: str
) -> None:
    reason = refusal_of(with_payload(type_, **{field_name: value}))
    assert reason.startswith(f"invalid payload for {type_}: payload.{field_name}: Input should be ")


@pytest.mark.parametrize(
    ("field_name", "value", "message"),
    [
        ("csat", 6, "Input should be less than or equal to 5"),
        ("csat", 0, "Input should be greater than or equal to 1"),
        ("nps", 11, "Input should be less than or equal to 10"),
        ("nps", -1, "Input should be greater than or equal to 0"),
    ],
)
def test_scores_outside_their_range_are_refused(field_name: str, value: int, message: str) -> None:
    reason = refusal_of(with_payload("customer.revisited", **{field_name: value}))
    assert reason == f"invalid payload for customer.revisited: payload.{field_name}: {message}"


@pytest.mark.parametrize(
    ("type_", "field_name"),
    [
        ("agent.responded", "message"),
        ("complaint.received", "customer_id"),
        ("complaint.received", "channel"),
        ("customer.revisited", "reached"),
        ("timer.fired", "due_at"),
    ],
)
def test_a_missing_required_payload_field_is_refused(type_: str, field_name: str) -> None:
    reason = refusal_of(without(type_, field_name, in_payload=True))
    assert reason == f"invalid payload for {type_}: payload.{field_name}: Field required"


def test_a_missing_payload_is_refused() -> None:
    reason = refusal_of(without("agent.responded", "payload"))
    assert reason == "invalid payload for agent.responded: payload: Field required"


def test_a_payload_that_is_not_an_object_is_refused() -> None:
    reason = refusal_of(with_changes(payload=["A1", "hello"]))
    assert reason == "invalid payload for agent.responded: payload: Input should be an object"


def test_an_empty_evidence_list_is_refused() -> None:
    reason = refusal_of(with_payload("evidence.submitted", items=[]))
    assert reason.startswith("invalid payload for evidence.submitted: payload.items: ")


def test_a_naive_timer_due_at_is_refused() -> None:
    reason = refusal_of(with_payload("timer.fired", due_at="2025-07-14T09:03:00"))
    assert (
        reason == "invalid payload for timer.fired: payload.due_at: Input should have timezone info"
    )


def test_optional_payload_fields_may_be_null_or_absent() -> None:
    # Given complaint.received with order_id null and amount absent
    payload = {k: v for k, v in RECEIVED.items() if k != "amount"} | {"order_id": None}
    decoded = decode_event(encode(envelope_dict("complaint.received", payload=payload)))
    # Then it is accepted, with both unset
    assert isinstance(decoded, ComplaintReceived)
    assert decoded.payload.order_id is None and decoded.payload.amount is None
