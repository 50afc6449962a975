"""The store's side of the metrics: workers save their own figures into `worker_metrics`, and
`complaintflow serve` reads those beside figures the store holds anyway (events applied,
outbox backlog, due timers, SLA breaches).

A worker replaces its rows in one transaction, so a reader sees each worker's figures as of
one moment. Rows of workers that stopped saving are kept for a day (their counters stay
visible for a last scrape), then removed by whichever worker saves next.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Engine, Table, delete, func, insert, select

from complaintflow.engine.core.vocabulary import EventType
from complaintflow.engine.service.worker_metrics import MetricSample
from complaintflow.state_store.database import READ_ONLY
from complaintflow.state_store.models import WorkerMetricRow
from complaintflow.state_store.summary import StoreSummary, summarize
from complaintflow.state_store.tables import history_t, timers_t

worker_metrics_t = cast(Table, WorkerMetricRow.__table__)
STALE_AFTER = timedelta(days=1)
STOPPED = "stopped"  # the sample a worker's last save carries when it stopped cleanly


class SqlAlchemyWorkerMetrics:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, worker_id: str, samples: Sequence[MetricSample], at: datetime) -> None:
        with self.engine.begin() as c:
            c.execute(
                delete(worker_metrics_t).where(
                    (worker_metrics_t.c.worker_id == worker_id)
                    | (worker_metrics_t.c.updated_at < at - STALE_AFTER)
                )
            )
            if samples:
                c.execute(
                    insert(worker_metrics_t),
                    [
                        {
                            "worker_id": worker_id,
                            "name": s.name,
                            "labels": json.dumps(dict(s.labels), sort_keys=True),
                            "value": s.value,
                            "updated_at": at,
                        }
                        for s in samples
                    ],
                )

    def saved_at(self) -> dict[str, datetime]:
        """When each running worker last saved its figures (every few seconds while it runs;
        a worker that stopped cleanly is left out)."""
        w = worker_metrics_t.c
        stopped = select(w.worker_id).where(w.name == STOPPED)
        with self.engine.connect().execution_options(**READ_ONLY) as c:
            rows = c.execute(
                select(w.worker_id, func.max(w.updated_at))
                .where(w.worker_id.not_in(stopped))
                .group_by(w.worker_id)
                .order_by(w.worker_id)
            )
            return {worker_id: at for worker_id, at in rows}

    def read(self) -> dict[str, list[MetricSample]]:
        """Every worker's saved figures, by worker id."""
        with self.engine.connect().execution_options(**READ_ONLY) as c:
            rows = c.execute(
                select(
                    worker_metrics_t.c.worker_id,
                    worker_metrics_t.c.name,
                    worker_metrics_t.c.labels,
                    worker_metrics_t.c.value,
                ).order_by(worker_metrics_t.c.worker_id, worker_metrics_t.c.name)
            )
            by_worker: dict[str, list[MetricSample]] = {}
            for worker_id, name, labels, value in rows:
                pairs = tuple(sorted(json.loads(labels).items()))
                by_worker.setdefault(worker_id, []).append(MetricSample(name, pairs, value))
            return by_worker


@dataclass(frozen=True)
class StoreFigures:
    summary: StoreSummary
    due_timers: int
    breaches_by_deadline: dict[str, int]


def store_figures(engine: Engine, now: datetime) -> StoreFigures:
    """What the store says at `now` (the caller's injected clock decides which timers are due)."""
    deadline = history_t.c.payload["deadline"].as_string()
    with engine.connect().execution_options(**READ_ONLY) as c:
        due = c.scalar(select(func.count()).select_from(timers_t).where(timers_t.c.due_at <= now))
        breaches = c.execute(
            select(deadline, func.count())
            .where(history_t.c.type == EventType.SLA_BREACHED.value)
            .group_by(deadline)
        )
        by_deadline = {str(name): count for name, count in breaches}
    return StoreFigures(
        summary=summarize(engine), due_timers=due or 0, breaches_by_deadline=by_deadline
    )
