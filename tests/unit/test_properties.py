"""Properties over generated input: the decoder never raises and classifies every refusal, and a
replay of any stream (valid, invalid, duplicated, shuffled) keeps every complaint inside the
workflow with a gap-free history whose every step is a transition of the workflow file."""

import json
from dataclasses import asdict
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from complaintflow.engine.bootstrap import load_workflow
from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.events import INBOUND_TYPES, Envelope
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.core.replay import ReplayResult, replay
from tests.support.builders import EXAMPLE_PAYLOADS, MONDAY_9, RECEIVED, envelope_dict

WORKFLOW = load_workflow()
DEFINITION = WORKFLOW.definition
STATES = frozenset(DEFINITION.states)
# Every (source, dest) step the workflow's transition table allows, same-state ones included.
STEPS = frozenset(
    (source, rule.dest) for (source, _trigger), rules in WORKFLOW.table.items() for rule in rules
)
# INBOUND_TYPES is read off the envelope subclasses, in the same order.
EVENT_CLASSES = dict(zip(INBOUND_TYPES, Envelope.__subclasses__(), strict=True))
ENVELOPE_KEYS = (
    "event_id",
    "type",
    "complaint_id",
    "occurred_at",
    "source",
    "schema_version",
    "payload",
)
# What a refusal's reason starts with; "undecodable input" (the catch-all for an exception the
# decoder did not expect) is deliberately absent: reaching it means a misclassified input.
REASON_PREFIXES = (
    "not UTF-8: ",
    "not JSON: ",
    "not a JSON object: ",
    "invalid envelope: ",
    "invalid envelope for ",
    "invalid payload for ",
    "unknown event type ",
    "unsupported schema_version ",
)

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REPLAYS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_event_or_classified_refusal(decoded: object) -> None:
    if isinstance(decoded, Refusal):
        assert decoded.reason.startswith(REASON_PREFIXES), decoded.reason
    else:
        assert isinstance(decoded, Envelope)
        assert type(decoded) is EVENT_CLASSES[decoded.type]


# --- strategies: JSON ----------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from([*INBOUND_TYPES, "2025-07-14T09:00:00+08:00", "C-1", 1, 2, "1"])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(ENVELOPE_KEYS) | st.text(max_size=8), children, max_size=6
        )
    ),
    max_leaves=20,
)
JSON_KINDS: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "bool": st.booleans(),
    "number": st.integers() | st.floats(allow_nan=False, allow_infinity=False),
    "string": st.text(max_size=20),
    "array": st.lists(SCALARS, max_size=3),
    "object": st.dictionaries(st.text(max_size=5), SCALARS, max_size=3),
}


def kind_of(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def value_of_another_kind(original: object) -> st.SearchStrategy[Any]:
    others = sorted(set(JSON_KINDS) - {kind_of(original)})
    return st.sampled_from(others).flatmap(lambda kind: JSON_KINDS[kind])


def encode(value: object, ensure_ascii: bool = True) -> bytes:
    # surrogatepass: a lone surrogate from st.text() becomes bytes that are not UTF-8
    return json.dumps(value, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


def payload_fields(type_: str) -> dict[str, FieldInfo]:
    payload_model: type[BaseModel] = EVENT_CLASSES[type_].model_fields["payload"].annotation  # type: ignore[assignment]
    return payload_model.model_fields


def required_payload_fields(type_: str) -> list[str]:
    return [name for name, f in payload_fields(type_).items() if f.is_required()]


VALID_ENVELOPES = st.sampled_from(sorted(EXAMPLE_PAYLOADS)).map(envelope_dict)


# --- decode_event never raises -------------------------------------------------------------


@FAST
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_decode_to_an_event_or_a_classified_refusal(raw: bytes) -> None:
    assert_event_or_classified_refusal(decode_event(raw))


@FAST
@given(value=JSON_VALUES, ensure_ascii=st.booleans())
def test_arbitrary_json_decodes_to_an_event_or_a_classified_refusal(
    value: object, ensure_ascii: bool
) -> None:
    assert_event_or_classified_refusal(decode_event(encode(value, ensure_ascii)))


@FAST
@given(
    envelope=VALID_ENVELOPES,
    mutations=st.lists(
        st.tuples(
            st.sampled_from(["top", "payload"]),
            st.sampled_from([*ENVELOPE_KEYS, "items", "reached", "amount", "key"])
            | st.text(max_size=8),
            st.none() | JSON_VALUES,  # None: drop the key, else set it to the value
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_mutated_envelopes_decode_to_an_event_or_a_classified_refusal(
    envelope: dict[str, Any], mutations: list[tuple[str, str, Any]]
) -> None:
    # Given a valid envelope with keys dropped or set to arbitrary JSON, at either level
    for where, key, value in mutations:
        target = envelope if where == "top" else envelope.get("payload")
        if not isinstance(target, dict):
            continue
        target = target if where == "top" else dict(target)
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
        if where == "payload":
            envelope["payload"] = target
    # Then decoding it gives an event or a refusal we can name
    assert_event_or_classified_refusal(decode_event(encode(envelope)))


@FAST
@given(envelope=VALID_ENVELOPES, key=st.sampled_from(ENVELOPE_KEYS))
def test_dropping_an_envelope_key_is_refused_naming_the_key(
    envelope: dict[str, Any], key: str
) -> None:
    type_ = envelope["type"]
    del envelope[key]
    decoded = decode_event(encode(envelope))
    assert isinstance(decoded, Refusal)
    if key == "type":
        assert decoded.reason == "invalid envelope: type: field required"
    else:
        kind = "payload" if key == "payload" else "envelope"
        assert decoded.reason == f"invalid {kind} for {type_}: {key}: Field required"


@FAST
@given(data=st.data(), type_=st.sampled_from(sorted(EXAMPLE_PAYLOADS)))
def test_dropping_a_required_payload_field_is_refused_naming_the_field(
    data: st.DataObject, type_: str
) -> None:
    envelope = envelope_dict(type_)
    field_name = data.draw(st.sampled_from(required_payload_fields(type_)))
    envelope["payload"] = {k: v for k, v in envelope["payload"].items() if k != field_name}
    decoded = decode_event(encode(envelope))
    assert isinstance(decoded, Refusal)
    assert decoded.reason == f"invalid payload for {type_}: payload.{field_name}: Field required"


@FAST
@given(data=st.data(), type_=st.sampled_from(sorted(EXAMPLE_PAYLOADS)))
def test_a_required_value_of_another_json_type_is_refused_naming_the_field(
    data: st.DataObject, type_: str
) -> None:
    # Given a valid envelope where one required field holds a value of another JSON type
    envelope = envelope_dict(type_)
    in_payload = data.draw(st.booleans())
    keys = required_payload_fields(type_) if in_payload else list(ENVELOPE_KEYS)
    key = data.draw(st.sampled_from(keys))
    container = envelope["payload"] if in_payload else envelope
    value = data.draw(value_of_another_kind(container[key]))
    container = {**container, key: value}
    if in_payload:
        envelope["payload"] = container
    else:
        envelope = container
    # When it is decoded
    decoded = decode_event(encode(envelope))
    # Then it is refused, and the reason points at that field
    assert isinstance(decoded, Refusal), (key, value)
    reason = decoded.reason
    if in_payload:
        assert reason.startswith(f"invalid payload for {type_}: payload.{key}: "), reason
    elif key == "type":
        assert reason.startswith("unknown event type "), reason
    elif key == "schema_version":
        assert reason.startswith(
            ("unsupported schema_version ", f"invalid envelope for {type_}: schema_version: ")
        ), reason
    elif key == "payload":
        assert reason == f"invalid payload for {type_}: payload: Input should be an object"
    else:
        assert reason.startswith(f"invalid envelope for {type_}: {key}: "), reason


@FAST
@given(
    envelope=VALID_ENVELOPES,
    top=st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=4),
    inner=st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=4),
)
def test_unknown_fields_never_change_the_decoded_event(
    envelope: dict[str, Any], top: dict[str, Any], inner: dict[str, Any]
) -> None:
    # Given a valid envelope and fields it does not define, at the top and in the payload
    type_ = envelope["type"]
    extra_top = {k: v for k, v in top.items() if k not in ENVELOPE_KEYS}
    extra_inner = {k: v for k, v in inner.items() if k not in payload_fields(type_)}
    extended = {**extra_top, **envelope, "payload": {**extra_inner, **envelope["payload"]}}
    # When both are decoded
    plain, decoded = decode_event(encode(envelope)), decode_event(encode(extended))
    # Then the extended one is the same event
    assert not isinstance(plain, Refusal)
    assert decoded == plain


# --- strategies: streams of lines for three complaints -------------------------------------

COMPLAINT_IDS = ("C-1", "C-2", "C-3")
TIMER_KEYS = (
    "first_response.warning",
    "first_response.breach",
    "handling.warning",
    "handling.breach",
    "evidence.breach",
    "collaboration.tech.breach",
    "collaboration.logistics.warning",
    "revisit.breach",
    "revisit.low_score.breach",
    "escalation",
    "archive",
)
TEMPLATES: list[tuple[str, dict[str, Any]]] = [
    *((t, p) for t, p in EXAMPLE_PAYLOADS.items() if t != "timer.fired"),
    # another order, no order at all, and a P1 that another channel may merge into
    ("complaint.received", {**RECEIVED, "order_id": "O2"}),
    ("complaint.received", {k: v for k, v in RECEIVED.items() if k != "order_id"}),
    (
        "complaint.received",
        {**RECEIVED, "channel": "social", "customer_tier": "vip", "amount": "2500.00"},
    ),
    *(
        ("department.replied", {"department": d, "outcome": o})
        for d in ("tech", "logistics")
        for o in ("accepted", "rejected", "needs_evidence")
    ),
    *(
        ("collaboration.requested", {"department": d, "question": "?"})
        for d in ("tech", "logistics")
    ),
    ("customer.revisited", {"reached": False}),
    ("customer.revisited", {"reached": True, "satisfied": False, "csat": 1}),
    ("customer.revisited", {"reached": True, "csat": 2}),
    ("evidence.requested", {"items": ["waybill"], "requested_from": "department"}),
    ("complaint.escalated", {"level": "manager", "cause": "overdue"}),
]
INVALID_LINES = (
    b"not json",
    b"[]",
    b"\xff\xfe",
    json.dumps({**envelope_dict("agent.responded"), "schema_version": 2}).encode(),
    json.dumps(envelope_dict("agent.responded", payload={"agent_id": "A1"})).encode(),
    json.dumps(
        envelope_dict("complaint.received", payload={**RECEIVED, "channel": "fax"})
    ).encode(),
)
# Minutes between events: often seconds-apart bursts, sometimes hours, sometimes weeks (so
# that SLA, escalation, revisit and archive timers come due inside the stream).
GAPS = st.one_of(st.integers(1, 5), st.integers(1, 300), st.integers(60, 60 * 24 * 20)).map(
    lambda minutes: timedelta(minutes=minutes)
)
START = MONDAY_9


@st.composite
def timer_payloads(draw: st.DrawFn) -> dict[str, Any]:
    key = draw(st.sampled_from(TIMER_KEYS) | st.text(min_size=1, max_size=12))
    due_at = START + timedelta(minutes=draw(st.integers(0, 60 * 24 * 40)))
    return {"key": key, "due_at": due_at.isoformat()}


NOISE = st.one_of(
    st.sampled_from(TEMPLATES).map(lambda t: ("event", *t)),
    timer_payloads().map(lambda p: ("event", "timer.fired", p)),
    st.sampled_from(INVALID_LINES).map(lambda raw: ("raw", raw, None)),
)
Step = tuple[str, Any, dict[str, Any] | None]


@st.composite
def stories(draw: st.DrawFn) -> list[Step]:
    """One complaint's plausible life: each event allowed by the transition table in the state
    the story believes the complaint is in (guards ignored, so some are refused: fine)."""
    steps: list[Step] = []
    state: str | None = None
    for _ in range(draw(st.integers(0, 14))):
        if state is None:
            choices = [t for t in TEMPLATES if t[0] == "complaint.received"]
        else:
            choices = [t for t in TEMPLATES if (state, t[0]) in WORKFLOW.table]
        if not choices:
            break
        type_, payload = draw(st.sampled_from(choices))
        steps.append(("event", type_, payload))
        if state is None:  # received, then graded at once
            state = WORKFLOW.table[(DEFINITION.initial, "complaint.graded")][0].dest
        else:
            state = draw(st.sampled_from([r.dest for r in WORKFLOW.table[(state, type_)]]))
    return steps


@st.composite
def streams(draw: st.DrawFn) -> list[bytes]:
    """Three complaints' stories interleaved, with noise (any template for any complaint,
    timers with random keys, invalid lines) in between, in increasing occurred_at; then some
    lines delivered again, earlier or later."""
    pending = {cid: draw(stories()) for cid in COMPLAINT_IDS}
    lines: list[bytes] = []
    at = START
    while any(pending.values()) or draw(st.integers(0, 3)) == 3:
        live = [cid for cid, steps in pending.items() if steps]
        if not live or draw(st.integers(0, 4)) == 4:
            cid, (kind, type_or_raw, payload) = draw(st.sampled_from(COMPLAINT_IDS)), draw(NOISE)
        else:
            cid = draw(st.sampled_from(live))
            kind, type_or_raw, payload = pending[cid].pop(0)
        at += draw(GAPS)
        if kind == "raw":
            lines.append(type_or_raw)
            continue
        n = len(lines)
        envelope = envelope_dict(type_or_raw, complaint_id=cid, at=at, payload=payload, n=n)
        lines.append(json.dumps(envelope).encode())
    for source, position in draw(
        st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), max_size=5)
    ):
        if lines:
            lines.insert(position % (len(lines) + 1), lines[source % len(lines)])
    return lines


def snapshot(result: ReplayResult) -> tuple[Any, ...]:
    return (
        {cid: c.model_dump() for cid, c in result.complaints.items()},
        {cid: [e.model_dump() for e in entries] for cid, entries in result.history.items()},
        [asdict(r) for r in result.refusals],
        dict(result.aliases),
        result.applied,
        result.timers_fired,
    )


def assert_consistent(result: ReplayResult, line_count: int) -> None:
    """Every complaint inside the workflow; its history numbered 1..N, each step a transition."""
    assert set(result.history) == set(result.complaints)
    for alias, target in result.aliases.items():
        assert target in result.complaints and alias not in result.complaints
    for cid, complaint in result.complaints.items():
        assert complaint.state in STATES
        entries = result.history[cid]
        assert [e.version for e in entries] == list(range(1, len(entries) + 1))
        assert complaint.version == len(entries)
        assert all(e.complaint_id == cid and e.state in STATES for e in entries)
        assert entries[-1].state == complaint.state
        # complaint.received is recorded in the initial state, then graded at once
        assert (entries[0].type, entries[0].state) == ("complaint.received", DEFINITION.initial)
        assert (entries[1].type, entries[1].state) == ("complaint.graded", "graded")
        for before, after in pairwise(entries):
            step = (before.state, after.state)
            assert before.state == after.state or step in STEPS, (cid, after.type, step)
    for refusal in result.refusals:
        assert 1 <= refusal.line <= line_count
        assert refusal.reason.strip()


# --- replay properties ---------------------------------------------------------------------


@REPLAYS
@given(lines=streams(), fire_timers=st.booleans())
def test_any_stream_replays_into_workflow_states_with_a_gap_free_valid_history(
    lines: list[bytes], fire_timers: bool
) -> None:
    # When any stream of valid, invalid and redelivered lines is replayed
    result = replay(lines, WORKFLOW, fire_timers=fire_timers)
    # Then every complaint and every history entry is inside the workflow, and consistent
    assert_consistent(result, len(lines))


@REPLAYS
@given(lines=streams())
def test_replaying_the_same_lines_twice_gives_identical_results(lines: list[bytes]) -> None:
    first, second = replay(lines, WORKFLOW), replay(list(lines), WORKFLOW)
    assert snapshot(first) == snapshot(second)


@REPLAYS
@given(lines=streams().flatmap(st.permutations))
def test_a_shuffled_stream_never_reaches_a_state_outside_the_workflow(lines: list[bytes]) -> None:
    # Given a stream delivered in any order (occurred_at no longer increasing)
    result = replay(lines, WORKFLOW)
    # Then the complaints and their histories still stay inside the workflow
    assert_consistent(result, len(lines))


@REPLAYS
@given(lines=streams())
def test_invalid_lines_are_refused_and_change_nothing(lines: list[bytes]) -> None:
    # Given a stream, and the same stream with undecodable lines interleaved
    noisy: list[bytes] = []
    for line in lines:
        noisy += [b"not json", line]
    # When both are replayed
    clean, dirty = replay(lines, WORKFLOW), replay(noisy, WORKFLOW)
    # Then the complaints and histories are the same, with one more refusal per noise line
    assert snapshot(clean)[:2] == snapshot(dirty)[:2]
    noise = [r for r in dirty.refusals if r.line % 2 == 1]
    assert len(noise) == len(lines)
    assert all(r.reason.startswith("not JSON: ") and r.complaint_id is None for r in noise)


def test_a_scripted_stream_of_the_templates_reaches_the_deep_states() -> None:
    """The templates the streams are built from do apply: in the right order they take a
    complaint through collaboration, evidence, a reopening revisit, revisited and archived."""
    at = START
    lines = []
    for n, (type_, payload) in enumerate(
        [
            ("complaint.received", None),
            ("agent.responded", None),
            ("collaboration.requested", {"department": "tech", "question": "?"}),
            ("department.replied", {"department": "tech", "outcome": "needs_evidence"}),
            ("evidence.submitted", None),
            ("department.replied", {"department": "tech", "outcome": "accepted"}),
            ("complaint.resolved", None),
            ("customer.revisited", {"reached": True, "satisfied": False}),
            ("complaint.resolved", None),
            ("customer.revisited", None),
            ("complaint.archived", None),
        ]
    ):
        at += timedelta(minutes=1)
        lines.append(json.dumps(envelope_dict(type_, at=at, payload=payload, n=n)).encode())
    result = replay(lines, WORKFLOW)
    assert result.refusals == []
    states = [e.state for e in result.history["C-1"]]
    assert {"collaboration", "evidence", "resolved", "revisited", "archived"} <= set(states)
    assert_consistent(result, len(lines))


@pytest.mark.parametrize("occurred_at", ["9999-12-31T23:59:00+00:00", "0001-01-01T00:00:00+08:00"])
def test_an_occurred_at_at_the_edge_of_time_is_refused_not_raised(occurred_at: str) -> None:
    # Given a complaint.received at the edge of datetime's range (deadlines would overflow)
    envelope = {**envelope_dict("complaint.received"), "occurred_at": occurred_at}
    # When it is replayed
    result = replay([json.dumps(envelope).encode()], WORKFLOW)
    # Then it is refused with the supported range, never an exception
    assert result.complaints == {}
    assert [r.reason for r in result.refusals] == [
        "invalid envelope for complaint.received: occurred_at: "
        "must be between 1970-01-01 and 9000-01-01"
    ]
