"""Figures only a worker knows: events it applied, input it refused by reason class, and how
long its batches took. They are counted in memory here and saved to the store by an
APScheduler job (`state_store.metrics_store`), where `complaintflow serve` reads them: the
HTTP service never talks to a worker, so any number of workers can run without it.
"""

import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from complaintflow.engine.core.batch import BatchChanges, InboundMessage
from complaintflow.engine.ports import Processor

BATCH_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# Refusal reasons are sentences for the publisher; metrics want a closed set of classes.
# Reasons start with one of these (engine/decoding.py, engine/decision.py, engine/workflow.py).
_REASON_PREFIXES = (
    ("message has no value", "no_value"),
    ("not UTF-8", "not_utf8"),
    ("not JSON", "not_json"),
    ("not a JSON object", "not_json"),
    ("undecodable input", "not_json"),
    ("unknown event type", "unknown_type"),
    ("unsupported schema_version", "unsupported_schema_version"),
    ("invalid payload", "invalid_payload"),
    ("invalid envelope", "invalid_envelope"),
)
REASON_CLASSES = (
    *dict.fromkeys(cls for _, cls in _REASON_PREFIXES),
    "unknown_complaint",
    "not_allowed_in_state",
    "other",
)


def reason_class(reason: str) -> str:
    """The class of a refusal reason, for a `reason` label with few values."""
    for prefix, cls in _REASON_PREFIXES:
        if reason.startswith(prefix):
            return cls
    if " does not exist" in reason:
        return "unknown_complaint"
    if " not allowed in state " in reason:
        return "not_allowed_in_state"
    return "other"


@dataclass(frozen=True)
class MetricSample:
    """One saved figure: `name` within the worker's figures, `labels` as sorted pairs."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float


class WorkerMetrics:
    """Counters and a latency histogram; a lock, because batches are counted on the consumer
    thread while the saving job reads them on APScheduler's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._applied = 0
        self._refused: Counter[str] = Counter()
        self._bucket_counts = [0] * len(BATCH_SECONDS_BUCKETS)
        self._batches = 0
        self._seconds = 0.0

    def observe_batch(self, changes: BatchChanges, seconds: float) -> None:
        classes = Counter(reason_class(r) for r in changes.refusal_reasons)
        with self._lock:
            self._applied += changes.applied
            self._refused.update(classes)
            self._batches += 1
            self._seconds += seconds
            for i, bound in enumerate(BATCH_SECONDS_BUCKETS):
                if seconds <= bound:
                    self._bucket_counts[i] += 1

    def samples(self) -> list[MetricSample]:
        with self._lock:
            samples = [MetricSample("events_applied", (), self._applied)]
            samples += [  # every class, zero or not, so a rate is defined from the start
                MetricSample("events_refused", (("reason", cls),), self._refused[cls])
                for cls in REASON_CLASSES
            ]
            samples += [
                MetricSample("batch_seconds_bucket", (("le", str(bound)),), count)
                for bound, count in zip(BATCH_SECONDS_BUCKETS, self._bucket_counts, strict=True)
            ]
            samples += [
                MetricSample("batch_seconds_bucket", (("le", "+Inf"),), self._batches),
                MetricSample("batch_seconds_count", (), self._batches),
                MetricSample("batch_seconds_sum", (), self._seconds),
            ]
            return samples


@dataclass
class MeasuredProcessor:
    """A processor that counts what each batch did and how long it took."""

    processor: Processor
    metrics: WorkerMetrics

    def process(self, messages: Sequence[InboundMessage]) -> BatchChanges:
        started = time.perf_counter()
        changes = self.processor.process(messages)
        self.metrics.observe_batch(changes, time.perf_counter() - started)
        return changes
