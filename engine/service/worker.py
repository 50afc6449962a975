"""One engine worker: consumer loop, outbox relay and timer sweeper, wired
from `Settings`. This is the only place that turns configuration into adapters."""

import fcntl
import gc
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from complaintflow.consumers.kafka_loop import InboundLoop, consumer_for, partitioner
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import load_workflow
from complaintflow.engine.errors import BrokerUnavailable, StoreUnavailable
from complaintflow.engine.service.clock import Clock, ScaledClock, SystemClock
from complaintflow.engine.service.processing import BatchProcessor
from complaintflow.engine.service.trend_watch import HANDLED_STATES, TrendWatch, thresholds_from
from complaintflow.engine.service.worker_metrics import MeasuredProcessor, WorkerMetrics
from complaintflow.engine.settings import Settings
from complaintflow.producers.kafka_publisher import KafkaPublisher
from complaintflow.producers.outbox_relay import OutboxRelay
from complaintflow.producers.timer_sweeper import TimerSweeper
from complaintflow.state_store.database import is_sqlite, open_engine
from complaintflow.state_store.metrics_store import SqlAlchemyWorkerMetrics
from complaintflow.state_store.outbox_store import SqlAlchemyOutbox
from complaintflow.state_store.schema import require_head
from complaintflow.state_store.timer_store import SqlAlchemyTimers
from complaintflow.state_store.trend_store import SqlAlchemyTrends
from complaintflow.state_store.unit_of_work import SqlAlchemyStore

log = logging.getLogger(__name__)


def clock_for(settings: Settings) -> Clock:
    if settings.clock_speed == 1 and settings.clock_start is None:
        return SystemClock()
    return ScaledClock(settings.clock_speed, origin=settings.clock_start)


@contextmanager
def sqlite_single_writer(engine: Engine) -> Iterator[None]:
    """Hold an exclusive lock beside a SQLite file for the worker's lifetime: a second worker
    is told to use PostgreSQL instead of failing later with "database is locked"."""
    database = engine.url.database
    if not is_sqlite(engine) or not database or database == ":memory:":
        yield
        return
    lock_path = Path(f"{database}.worker-lock")
    handle: IO[str] = lock_path.open("w")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreUnavailable(
                f"another worker is already running on SQLite database {database}; SQLite is "
                "single-writer: run several workers against PostgreSQL "
                "(--database-url postgresql+psycopg://user:password@host/dbname)"
            ) from None
        yield
    finally:
        handle.close()


def inbound_partitions(bootstrap: str, topic: str) -> int:
    consumer = consumer_for(bootstrap, group_id="complaintflow-metadata")
    try:
        partitions = consumer.partitions_for_topic(topic)
    finally:
        consumer.close(autocommit=False)
    if not partitions:
        raise BrokerUnavailable(f"topic {topic} does not exist on {bootstrap}")
    return len(partitions)


def settle_heap() -> None:
    """Move what startup built (modules, pydantic and SQLAlchemy schemas, adapters) out of
    the collector's reach: it lives as long as the worker, and walking it on every full
    collection took about a fifth of a batch's time (benchmarks/batch_store.py --no-freeze).
    What of it becomes garbage later (a replaced pooled connection) is never freed: a bounded
    one-off, against a cost paid on every batch."""
    gc.collect()
    gc.freeze()


def save_worker_metrics(
    saved: SqlAlchemyWorkerMetrics, worker_id: str, metrics: WorkerMetrics, clock: Clock
) -> None:
    """Save this worker's figures for `complaintflow serve`; a failure only delays them."""
    try:
        saved.save(worker_id, metrics.samples(), clock.now())
    except SQLAlchemyError as exc:
        log.warning("worker metrics not saved: %s", exc)


@dataclass
class Worker:
    settings: Settings
    bootstrap: str
    stop: threading.Event
    clock: Clock | None = None
    sweep_every_s: float = 1.0
    metrics_every_s: float = 5.0
    # a worker's saved figures age by wall-clock time, whatever its business clock says (a
    # drill worker dated 2025 and a live one must not prune each other's rows as stale)
    wall_clock: Clock = field(default_factory=SystemClock)
    consuming: threading.Event = field(default_factory=threading.Event)
    """Set once the group has assigned this worker its partitions."""
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    )

    def run(self) -> None:
        settings = self.settings
        clock = self.clock or clock_for(settings)
        workflow = load_workflow(settings.workflow)
        engine = open_engine(settings.database_url)
        require_head(engine)
        topics = Topics(settings.topic_prefix)
        with sqlite_single_writer(engine):
            partition_of = partitioner(inbound_partitions(self.bootstrap, topics.inbound))
            store = SqlAlchemyStore(engine, clock)
            publisher = KafkaPublisher(self.bootstrap)
            metrics = WorkerMetrics()
            loop = InboundLoop(
                consumer=consumer_for(self.bootstrap, settings.group_id),
                topic=topics.inbound,
                processor=MeasuredProcessor(
                    BatchProcessor(store, workflow, clock, topics, partition_of), metrics
                ),
                relay=OutboxRelay(SqlAlchemyOutbox(engine), publisher, clock),
                max_records=settings.batch_size,
                stop=self.stop,
                on_assigned=self.consuming.set,
            )
            sweeper_publisher = KafkaPublisher(self.bootstrap)
            sweeper = TimerSweeper(SqlAlchemyTimers(engine), sweeper_publisher, clock, topics)
            trends = TrendWatch(
                SqlAlchemyTrends(engine, HANDLED_STATES.union(workflow.definition.final_states)),
                clock,
                thresholds_from(settings),
                topics,
                partition_of,
            )
            saved = SqlAlchemyWorkerMetrics(engine)
            save_metrics = partial(
                save_worker_metrics, saved, self.worker_id, metrics, self.wall_clock
            )
            scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1})
            jobs = {
                "timer-sweeper": (sweeper.sweep, self.sweep_every_s),
                "trend-alerts": (trends.check, settings.trend_check_every.total_seconds()),
                "worker-metrics": (save_metrics, self.metrics_every_s),
            }
            for job_id, (job, every_s) in jobs.items():
                scheduler.add_job(job, "interval", seconds=every_s, id=job_id)
            scheduler.start()
            settle_heap()
            try:
                loop.run()
            finally:
                scheduler.shutdown(wait=True)
                save_metrics()
                sweeper_publisher.close()
                publisher.close()
                engine.dispose()
