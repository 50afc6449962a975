"""What a worker counts for `complaintflow serve`, and the serve command's guards."""

import json
from datetime import timedelta

import pytest
from builders import MONDAY_9, envelope_dict, event, raw

from complaintflow.engine.core.batch import BatchChanges
from complaintflow.engine.core.decision import decide
from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.entrypoints.cli.serve import is_loopback
from complaintflow.engine.entrypoints.http.app import bearer_matches
from complaintflow.engine.service.worker_metrics import (
    REASON_CLASSES,
    MetricSample,
    WorkerMetrics,
    reason_class,
)


def decoded_reason(value: bytes | None) -> str:
    refused = decode_event(value)
    assert isinstance(refused, Refusal)
    return refused.reason


def with_field(**changes: object) -> bytes:
    return json.dumps({**envelope_dict("agent.responded"), **changes}).encode()


@pytest.mark.parametrize(
    ("value", "cls"),
    [
        (None, "no_value"),
        (b"\xff\xfe", "not_utf8"),
        (b"{not json", "not_json"),
        (b"[1, 2]", "not_json"),
        (with_field(type="agent.waved"), "unknown_type"),
        (with_field(schema_version=2), "unsupported_schema_version"),
        (with_field(payload={"agent_id": "A1"}), "invalid_payload"),
        (with_field(occurred_at="2025-07-14T09:00:00"), "invalid_envelope"),
    ],
)
def test_every_decoding_refusal_has_its_class(value: bytes | None, cls: str) -> None:
    assert reason_class(decoded_reason(value)) == cls


def test_decision_refusals_have_their_classes(workflow: Workflow) -> None:
    unknown = decide(None, event("agent.responded"), MONDAY_9, workflow)
    received = decide(None, event("complaint.received"), MONDAY_9, workflow).complaint
    late = decide(received, event("customer.revisited"), MONDAY_9, workflow)
    assert unknown.refusal is not None and late.refusal is not None
    assert reason_class(unknown.refusal.reason) == "unknown_complaint"
    assert reason_class(late.refusal.reason) == "not_allowed_in_state"
    assert reason_class("something new") == "other"


def test_samples_count_applied_refusals_by_class_and_batch_latency() -> None:
    # Given two batches: 3 applied with one refusal in 20 ms, then 1 applied in 2 s
    metrics = WorkerMetrics()
    reason = decoded_reason(raw("agent.responded")[:-1])
    metrics.observe_batch(BatchChanges(applied=3, refused=1, refusal_reasons=[reason]), 0.02)
    metrics.observe_batch(BatchChanges(applied=1), 2.0)
    samples = {(s.name, s.labels): s.value for s in metrics.samples()}
    # Then
    assert samples[("events_applied", ())] == 4
    assert samples[("events_refused", (("reason", "not_json"),))] == 1
    assert all(("events_refused", (("reason", c),)) in samples for c in REASON_CLASSES)
    assert samples[("batch_seconds_bucket", (("le", "0.01"),))] == 0
    assert samples[("batch_seconds_bucket", (("le", "0.025"),))] == 1
    assert samples[("batch_seconds_bucket", (("le", "2.5"),))] == 2
    assert samples[("batch_seconds_bucket", (("le", "+Inf"),))] == 2
    assert samples[("batch_seconds_count", ())] == 2
    assert samples[("batch_seconds_sum", ())] == pytest.approx(2.02)


def test_a_fresh_worker_reports_zeroes() -> None:
    assert MetricSample("events_applied", (), 0) in WorkerMetrics().samples()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("ops.example", False),
    ],
)
def test_only_loopback_addresses_count_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("Bearer s3cret-token-0123456", True),
        ("bearer s3cret-token-0123456", True),
        ("Bearer s3cret-token-012345", False),
        ("Basic s3cret-token-0123456", False),
        ("s3cret-token-0123456", False),
        ("", False),
        (None, False),
    ],
)
def test_bearer_token_must_match_exactly(header: str | None, ok: bool) -> None:
    assert bearer_matches(header, "s3cret-token-0123456") is ok


def test_latency_buckets_are_cumulative() -> None:
    metrics = WorkerMetrics()
    for seconds in (0.001, 0.3, timedelta(minutes=2).total_seconds()):
        metrics.observe_batch(BatchChanges(), seconds)
    buckets = [s.value for s in metrics.samples() if s.name == "batch_seconds_bucket"]
    assert buckets == sorted(buckets)
    assert buckets[-1] == 3 and buckets[-2] == 2
