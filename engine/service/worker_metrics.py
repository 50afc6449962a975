"""Figures only a worker knows: events it applied, input it refused by kind, how long its
batches took, and the database outages it rode out. They are counted in memory here and
saved to the store by an APScheduler job (`state_store.metrics_store`), where `complaintflow
serve` reads them: the HTTP service never talks to a worker, so any number of workers can
run without it.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from complaintflow.engine.core.batch import BatchChanges
from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.core.outcome import RefusalKind
from complaintflow.engine.service.processing import BatchProcessor

BATCH_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


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
        self._refused: Counter[RefusalKind] = Counter()
        self._bucket_counts = [0] * len(BATCH_SECONDS_BUCKETS)
        self._batches = 0
        self._seconds = 0.0
        self._outages = 0
        self._outage_seconds = 0.0
        self._watched: dict[str, Callable[[], float]] = {}

    def watch(self, name: str, read: Callable[[], float]) -> None:
        """A counter another part keeps (the relay's unpublishable rows, the producers made
        anew), read when the figures are saved."""
        self._watched[name] = read

    def observe_batch(self, changes: BatchChanges, seconds: float) -> None:
        kinds = Counter(changes.refusal_kinds)
        with self._lock:
            self._applied += changes.applied
            self._refused.update(kinds)
            self._batches += 1
            self._seconds += seconds
            for i, bound in enumerate(BATCH_SECONDS_BUCKETS):
                if seconds <= bound:
                    self._bucket_counts[i] += 1

    def observe_outage_began(self) -> None:
        with self._lock:
            self._outages += 1

    def observe_outage_ended(self, seconds: float) -> None:
        """Counted when it ends: the figures are saved to the database, so the first save
        after an outage is the first that can hold it."""
        with self._lock:
            self._outage_seconds += seconds

    def samples(self) -> list[MetricSample]:
        with self._lock:
            samples = [MetricSample("events_applied", (), self._applied)]
            # the `reason` label is the refusal's kind, set where the refusal was made; every
            # kind, zero or not, so a rate is defined from the start
            samples += [
                MetricSample("events_refused", (("reason", kind.value),), self._refused[kind])
                for kind in RefusalKind
            ]
            samples += [
                MetricSample("batch_seconds_bucket", (("le", str(bound)),), count)
                for bound, count in zip(BATCH_SECONDS_BUCKETS, self._bucket_counts, strict=True)
            ]
            samples += [
                MetricSample("batch_seconds_bucket", (("le", "+Inf"),), self._batches),
                MetricSample("batch_seconds_count", (), self._batches),
                MetricSample("batch_seconds_sum", (), self._seconds),
                MetricSample("database_outages", (), self._outages),
                MetricSample("database_outage_seconds", (), self._outage_seconds),
            ]
            samples += [MetricSample(name, (), read()) for name, read in self._watched.items()]
            return samples


@dataclass
class MeasuredProcessor:
    """A processor that counts what each batch did and how long it took."""

    processor: BatchProcessor
    metrics: WorkerMetrics

    def process(self, messages: Sequence[InboundMessage]) -> BatchChanges:
        started = time.perf_counter()
        changes = self.processor.process(messages)
        self.metrics.observe_batch(changes, time.perf_counter() - started)
        return changes

    def dead_letter(self, message: InboundMessage, error: Exception) -> BatchChanges:
        started = time.perf_counter()
        changes = self.processor.dead_letter(message, error)
        self.metrics.observe_batch(changes, time.perf_counter() - started)
        return changes

    def probe(self) -> None:
        self.processor.probe()
