"""What a worker counts for `complaintflow serve`, and the serve command's guards."""

from datetime import timedelta

import pytest

from complaintflow.engine.core.batch import BatchChanges
from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.outcome import Refusal, RefusalKind
from complaintflow.engine.entrypoints.cli.serve import is_loopback
from complaintflow.engine.entrypoints.http.auth import bearer_matches
from complaintflow.engine.entrypoints.http.metrics import worker_families
from complaintflow.engine.service.worker_metrics import MetricSample, WorkerMetrics
from tests.support.builders import raw


def decoded_kind(value: bytes | None) -> RefusalKind:
    refused = decode_event(value)
    assert isinstance(refused, Refusal)
    return refused.kind


def test_the_reason_labels_are_todays_class_names() -> None:
    # dashboards select these label values: renaming one is a breaking change
    assert {k.value for k in RefusalKind} == {
        "no_value",
        "not_utf8",
        "not_json",
        "unknown_type",
        "unsupported_schema_version",
        "invalid_payload",
        "invalid_envelope",
        "unknown_complaint",
        "duplicate_complaint",
        "not_allowed_in_state",
        "too_large",
        "internal_error",
    }


def test_samples_count_applied_refusals_by_kind_and_batch_latency() -> None:
    # Given two batches: 3 applied with one refusal in 20 ms, then 1 applied in 2 s
    metrics = WorkerMetrics()
    kind = decoded_kind(raw("agent.responded")[:-1])
    metrics.observe_batch(BatchChanges(applied=3, refused=1, refusal_kinds=[kind]), 0.02)
    metrics.observe_batch(BatchChanges(applied=1), 2.0)
    samples = {(s.name, s.labels): s.value for s in metrics.samples()}
    # Then
    assert samples[("events_applied", ())] == 4
    assert samples[("events_refused", (("reason", "not_json"),))] == 1
    assert all(("events_refused", (("reason", k.value),)) in samples for k in RefusalKind)
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


def test_counters_kept_elsewhere_are_read_when_saved_and_shown_per_worker() -> None:
    # Given a worker whose relay moved 2 rows aside and whose producers were made anew once
    metrics = WorkerMetrics()
    kept = {"unpublishable": 2, "recreated": 1}
    metrics.watch("outbox_unpublishable", lambda: kept["unpublishable"])
    metrics.watch("producer_recreated", lambda: kept["recreated"])
    kept["recreated"] = 3  # read at save time, not at watch time
    # When its figures are saved and shown
    samples = {s.name: s.value for s in metrics.samples() if not s.labels}
    families = {f.name: f for f in worker_families({"w1": metrics.samples()})}
    # Then both are there, by worker
    assert (samples["outbox_unpublishable"], samples["producer_recreated"]) == (2, 3)
    shown = families["complaintflow_worker_producer_recreated"].samples
    assert [(s.labels, s.value) for s in shown if s.name.endswith("_total")] == [
        ({"worker": "w1"}, 3)
    ]
    assert families["complaintflow_worker_database_outages"].samples[0].value == 0
