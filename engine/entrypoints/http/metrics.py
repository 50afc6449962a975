"""GET /metrics: a Prometheus collector that reads the store (and the broker, for lag) at
scrape time. Nothing is counted in the HTTP process itself, so any number of `serve`
processes show the same figures, and a restart of one loses nothing.
"""

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from complaintflow.engine.errors import BrokerUnavailable
from complaintflow.engine.ports import Clock
from complaintflow.engine.service.worker_metrics import MetricSample
from complaintflow.state_store.metrics_store import SqlAlchemyWorkerMetrics, store_figures

log = logging.getLogger(__name__)

LagSource = Callable[[], dict[int, int]]
F = TypeVar("F", GaugeMetricFamily, CounterMetricFamily)


class StoreCollector(Collector):
    def __init__(
        self, engine: Engine, clock: Clock, lag: LagSource | None = None, topic: str = ""
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.lag = lag
        self.topic = topic

    def collect(self) -> Iterator[Metric]:
        figures = store_figures(self.engine, self.clock.now())
        summary = figures.summary
        yield CounterMetricFamily(
            "complaintflow_events_applied",
            "Inbound events applied to complaints (store inbox, all workers).",
            value=summary.inbox.get("applied", 0),
        )
        yield _by_label(
            GaugeMetricFamily(
                "complaintflow_complaints", "Complaints by current state.", labels=["state"]
            ),
            summary.by_state,
        )
        yield GaugeMetricFamily(
            "complaintflow_outbox_backlog",
            "Outbox rows not yet published.",
            value=summary.outbox_backlog,
        )
        yield GaugeMetricFamily(
            "complaintflow_timers_due",
            "Timers due by now (the service's clock) and not yet fired.",
            value=figures.due_timers,
        )
        yield _by_label(
            CounterMetricFamily(
                "complaintflow_sla_breaches",
                "SLA breaches recorded in complaint history, by deadline.",
                labels=["deadline"],
            ),
            figures.breaches_by_deadline,
        )
        saved = SqlAlchemyWorkerMetrics(self.engine)
        yield from worker_families(saved.read())
        reported = GaugeMetricFamily(
            "complaintflow_worker_last_report_timestamp_seconds",
            "When each worker last saved its figures (Unix time; every 5 s while it runs): "
            "time() minus this is how long a worker has been silent.",
            labels=["worker"],
        )
        for worker, at in saved.saved_at().items():
            reported.add_metric([worker], at.timestamp())
        yield reported
        if self.lag is not None:
            yield from self._lag()

    def _lag(self) -> Iterator[Metric]:
        assert self.lag is not None
        up = GaugeMetricFamily(
            "complaintflow_consumer_lag_up", "1 when the broker answered the lag query."
        )
        try:
            by_partition = self.lag()
        except BrokerUnavailable as exc:
            log.warning("%s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        lag = GaugeMetricFamily(
            "complaintflow_consumer_lag",
            "Messages on the inbound topic not yet committed by the workers' group.",
            labels=["topic", "partition"],
        )
        for partition, behind in sorted(by_partition.items()):
            lag.add_metric([self.topic, str(partition)], behind)
        yield lag


WORKER_COUNTERS = {
    "database_outages": "Database outages the worker rode out (counted when each began).",
    "database_outage_seconds": "Seconds the worker spent waiting for its database.",
    "producer_recreated": "Kafka producers made anew after kafka-python could no longer send "
    "with one (a broker replaced, a fatal producer state): alert on any increase.",
    "outbox_unpublishable": "Outbox rows the broker refused for good, moved to the DLQ.",
}
"""Per-worker counters saved as plain samples, shown as `complaintflow_worker_<name>_total`."""


def worker_families(by_worker: dict[str, list[MetricSample]]) -> list[Metric]:
    """Families of the figures workers saved, each sample labelled with its worker."""
    applied = CounterMetricFamily(
        "complaintflow_worker_events_applied",
        "Inbound events applied, per worker (since the worker started).",
        labels=["worker"],
    )
    refused = CounterMetricFamily(
        "complaintflow_events_refused",
        "Inbound input dead-lettered, per worker and reason class.",
        labels=["worker", "reason"],
    )
    latency = HistogramMetricFamily(
        "complaintflow_batch_duration_seconds",
        "Time to decide and commit one polled batch, per worker.",
        labels=["worker"],
    )
    plain = {
        name: CounterMetricFamily(f"complaintflow_worker_{name}", text, labels=["worker"])
        for name, text in WORKER_COUNTERS.items()
    }
    for worker, samples in sorted(by_worker.items()):
        buckets: list[tuple[str, float]] = []
        total = 0.0
        for s in samples:
            labels = dict(s.labels)
            if s.name in plain:
                plain[s.name].add_metric([worker], s.value)
            elif s.name == "events_applied":
                applied.add_metric([worker], s.value)
            elif s.name == "events_refused":
                refused.add_metric([worker, labels["reason"]], s.value)
            elif s.name == "batch_seconds_bucket":
                buckets.append((labels["le"], s.value))
            elif s.name == "batch_seconds_sum":
                total = s.value
        if buckets:
            latency.add_metric([worker], _ordered(buckets), total)
    return [applied, refused, latency, *plain.values()]


def _ordered(buckets: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    return sorted(buckets, key=lambda bucket: float(bucket[0]))


def _by_label(family: F, values: dict[str, int]) -> F:
    for label, value in sorted(values.items()):
        family.add_metric([label], value)
    return family
