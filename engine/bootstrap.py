"""The one wiring place: the worker, the HTTP service and every CLI command get their
adapters (database engines, Kafka clients, stores, the workflow, the clock) from here, built
from one `Settings`. No other module constructs an engine, a Kafka client or a unit of work,
so a setting (a secured Kafka connection, a pool size) is applied everywhere or nowhere."""

import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import Engine, event

from complaintflow.consumers.consumer_lag import ConsumerLag
from complaintflow.consumers.desk_service import Answer, DeskService
from complaintflow.consumers.kafka_consumer import consumer_for, inbound_partitions, partitioner
from complaintflow.consumers.kafka_loop import InboundLoop
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow, compile_workflow
from complaintflow.engine.embedded_broker import create_topics, embedded_broker
from complaintflow.engine.entrypoints.http.app import CONNECTIONS, ReportBuilder, create_app
from complaintflow.engine.errors import BrokerUnavailable, StoreUnavailable
from complaintflow.engine.kafka_clients import open_client
from complaintflow.engine.ports import Clock
from complaintflow.engine.service.clock import ScaledClock, SystemClock
from complaintflow.engine.service.database_outage import DatabaseOutage
from complaintflow.engine.service.processing import BatchProcessor
from complaintflow.engine.service.trend_watch import HANDLED_STATES, TrendWatch, thresholds_from
from complaintflow.engine.service.worker import Job, Worker
from complaintflow.engine.service.worker_metrics import (
    MeasuredProcessor,
    MetricSample,
    WorkerMetrics,
)
from complaintflow.engine.settings import KafkaConnection, Settings
from complaintflow.producers.kafka_publisher import KafkaPublisher
from complaintflow.producers.outbox_relay import OutboxRelay
from complaintflow.producers.publisher import ComplaintPublisher
from complaintflow.producers.timer_sweeper import TimerSweeper
from complaintflow.state_store.database import is_sqlite, open_engine, redacted, store_errors
from complaintflow.state_store.metrics_store import STOPPED, SqlAlchemyWorkerMetrics
from complaintflow.state_store.outbox_store import SqlAlchemyOutbox
from complaintflow.state_store.schema import require_head
from complaintflow.state_store.single_writer import sqlite_single_writer
from complaintflow.state_store.timer_store import SqlAlchemyTimers
from complaintflow.state_store.trend_store import SqlAlchemyTrends
from complaintflow.state_store.unit_of_work import SqlAlchemyStore, store_outage
from complaintflow.workflows.loading import read_definition


def load_workflow(path: Path | None = None) -> Workflow:
    """The workflow in `path`, or the built-in one, compiled for decisions."""
    return compile_workflow(read_definition(path))


def clock_for(settings: Settings) -> Clock:
    if settings.clock_speed == 1 and settings.clock_start is None:
        return SystemClock()
    return ScaledClock(settings.clock_speed, origin=settings.clock_start)


def open_database(settings: Settings) -> Engine:
    """The configured database as it is (for migrating it, or a demo's fresh file), refusing
    a SQLite file whose directory does not exist (the driver would only say it cannot open
    it)."""
    engine = open_engine(settings.database_url)
    file = _sqlite_file(engine)
    if file is not None and not file.parent.is_dir():
        shown = redacted(settings.database_url)
        raise StoreUnavailable(f"database URL {shown!r}: no such directory {file.parent}")
    return engine


def open_store(settings: Settings) -> Engine:
    """The configured database, refusing a SQLite file that does not exist (connecting would
    create an empty one), a database that cannot be reached and one that is not at the
    code's schema, each in one line."""
    engine = open_engine(settings.database_url)
    file = _sqlite_file(engine)
    if file is not None and not file.is_file():
        shown = redacted(settings.database_url)
        raise StoreUnavailable(f"database URL {shown!r}: no such SQLite file {file}")
    with store_errors(settings.database_url):
        require_head(engine)
    return engine


def _sqlite_file(engine: Engine) -> Path | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
        return None
    return Path(str(database))


def complaint_store(engine: Engine, clock: Clock | None = None) -> SqlAlchemyStore:
    return SqlAlchemyStore(engine, clock or SystemClock())


def require_kafka(settings: Settings) -> KafkaConnection:
    """The configured broker, for commands that never start one of their own."""
    if not settings.bootstrap_servers:
        raise BrokerUnavailable(
            "no broker configured: pass --bootstrap-servers or set COMPLAINTFLOW_BOOTSTRAP_SERVERS "
            "(`complaintflow broker` starts one)"
        )
    return settings.kafka()


@contextmanager
def broker(settings: Settings) -> Iterator[KafkaConnection]:
    """The configured Kafka (topics created if missing), or the embedded broker."""
    topics = Topics(settings.topic_prefix)
    if settings.bootstrap_servers:
        connection = settings.kafka()
        create_topics(connection, topics)
        yield connection
    else:
        with embedded_broker(topics) as connection:
            yield connection


def complaint_publisher(connection: KafkaConnection, settings: Settings) -> ComplaintPublisher:
    return ComplaintPublisher(connection, settings.topic_prefix)


def desk_service(
    connection: KafkaConnection, topics: Topics, topic: str, group_id: str, answer: Answer
) -> DeskService:
    """A department's or the call-back team's service answering what arrives on `topic`,
    in its own consumer group, from the topic's start the first time."""
    consumer = consumer_for(connection, group_id)
    consumer.subscribe([topic])
    return DeskService(consumer, ComplaintPublisher(connection, topics.prefix), answer)


def kafka_consumer(connection: KafkaConnection, **options: Any) -> KafkaConsumer:
    """A consumer outside any group (tail, the bench's reader)."""
    return open_client(KafkaConsumer, connection, enable_auto_commit=False, **options)


def kafka_producer(connection: KafkaConnection, **options: Any) -> KafkaProducer:
    """A producer with kafka-python's defaults but `options` (the bench's raw ceiling)."""
    return open_client(KafkaProducer, connection, **options)


@dataclass(frozen=True)
class _WorkerWiring:
    """What every part of one worker shares."""

    settings: Settings
    connection: KafkaConnection
    engine: Engine
    workflow: Workflow
    clock: Clock
    topics: Topics
    partition_of: Callable[[str], int]
    resources: ExitStack
    publishers: list[KafkaPublisher] = field(default_factory=list)
    """Every producer made for this worker, for the count of those made anew."""

    def publisher(self) -> KafkaPublisher:
        publisher = KafkaPublisher(self.connection)
        self.resources.callback(publisher.close)
        self.publishers.append(publisher)
        return publisher


def build_worker(
    settings: Settings,
    connection: KafkaConnection,
    stop: threading.Event,
    clock: Clock | None = None,
    sweep_every_s: float | None = None,
    metrics_every_s: float = 5.0,
) -> Worker:
    """Consumer loop, outbox relay, timer sweeper, trend watch and metrics, wired to one
    database and one broker; `Worker.close` releases them, also when building fails. The
    loop and the jobs share one view of the database, so an outage is ridden out by all of
    them and logged once."""
    resources = ExitStack()
    try:
        engine = open_engine(settings.database_url)
        resources.callback(engine.dispose)
        _sqlite_busy_timeout(engine, settings.sqlite_busy_timeout)
        require_head(engine)
        resources.enter_context(sqlite_single_writer(engine))
        topics = Topics(settings.topic_prefix)
        wiring = _WorkerWiring(
            settings=settings,
            connection=connection,
            engine=engine,
            workflow=load_workflow(settings.workflow),
            clock=clock or clock_for(settings),
            topics=topics,
            partition_of=partitioner(inbound_partitions(connection, topics.inbound)),
            resources=resources,
        )
        metrics = WorkerMetrics()
        outage = DatabaseOutage(
            settings.database_outage_limit,
            partial(store_outage, url=settings.database_url),
            metrics,
        )
        consuming = threading.Event()
        loop = _inbound_loop(wiring, metrics, outage, stop, consuming)
        worker_id = _worker_id()
        saved = SqlAlchemyWorkerMetrics(engine)
        save_metrics = outage.job(partial(_save_worker_metrics, saved, worker_id, metrics))
        resources.callback(
            outage.job(partial(_save_worker_metrics, saved, worker_id, metrics, stopped=True))
        )
        jobs: dict[str, Job] = {
            "timer-sweeper": (
                outage.job(_timer_sweeper(wiring).sweep),
                settings.timer_sweep_every.total_seconds()
                if sweep_every_s is None
                else sweep_every_s,
            ),
            "trend-alerts": (
                outage.job(_trend_watch(wiring).check),
                settings.trend_check_every.total_seconds(),
            ),
            "worker-metrics": (save_metrics, metrics_every_s),
        }
    except BaseException:
        resources.close()
        raise
    return Worker(
        worker_id=worker_id, loop=loop, jobs=jobs, consuming=consuming, close=resources.close
    )


def _sqlite_busy_timeout(engine: Engine, busy_timeout: timedelta) -> None:
    """The worker's own SQLite busy timeout (COMPLAINTFLOW_SQLITE_BUSY_TIMEOUT), set after
    the engine's 30 s on every new connection: a lock held longer then counts as an outage
    the loop rides out while it polls, rather than a wait that outlasts max_poll_interval_ms
    and costs the worker its partitions. Registered before the first connection."""
    if not is_sqlite(engine):
        return
    milliseconds = int(busy_timeout.total_seconds() * 1000)

    @event.listens_for(engine, "connect")
    def _busy_timeout(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={milliseconds}")
        cursor.close()


def _inbound_loop(
    wiring: _WorkerWiring,
    metrics: WorkerMetrics,
    outage: DatabaseOutage,
    stop: threading.Event,
    consuming: threading.Event,
) -> InboundLoop:
    store = SqlAlchemyStore(wiring.engine, wiring.clock, wiring.settings.precedent_budget)
    processor = BatchProcessor(
        store,
        wiring.workflow,
        wiring.clock,
        wiring.topics,
        wiring.partition_of,
        max_event_bytes=wiring.settings.max_event_bytes,
    )
    relay = OutboxRelay(
        SqlAlchemyOutbox(wiring.engine),
        wiring.publisher(),
        wiring.clock,
        dead_letter_topic=wiring.topics.dlq,
    )
    metrics.watch("outbox_unpublishable", lambda: relay.unpublishable)
    metrics.watch("producer_recreated", lambda: sum(p.recreated for p in wiring.publishers))
    return InboundLoop(
        consumer=consumer_for(wiring.connection, wiring.settings.group_id),
        topic=wiring.topics.inbound,
        processor=MeasuredProcessor(processor, metrics),
        relay=relay,
        outage=outage,
        max_records=wiring.settings.batch_size,
        stop=stop,
        on_assigned=consuming.set,
        shutdown_drain_s=wiring.settings.shutdown_drain.total_seconds(),
    )


def _timer_sweeper(wiring: _WorkerWiring) -> TimerSweeper:
    """Its own producer: the sweeper runs on the scheduler's thread, beside the relay's."""
    return TimerSweeper(
        SqlAlchemyTimers(wiring.engine), wiring.publisher(), wiring.clock, wiring.topics
    )


def _trend_watch(wiring: _WorkerWiring) -> TrendWatch:
    closed = HANDLED_STATES.union(wiring.workflow.definition.final_states)
    return TrendWatch(
        SqlAlchemyTrends(wiring.engine, closed),
        wiring.clock,
        thresholds_from(wiring.settings),
        wiring.topics,
        wiring.partition_of,
    )


def build_http_app(
    settings: Settings, report: ReportBuilder, clock: Clock | None = None
) -> FastAPI:
    """The service of `complaintflow serve`; consumer lag when a broker is configured. Its
    pool holds exactly the connections the service bounds its reads to."""
    engine = open_engine(settings.database_url, connections=CONNECTIONS)
    inbound = Topics(settings.topic_prefix).inbound
    lag = None
    if settings.bootstrap_servers:
        lag = ConsumerLag(settings.kafka(), settings.group_id, inbound)
    workflow = load_workflow(settings.workflow)
    return create_app(settings, engine, report, clock or clock_for(settings), workflow, lag)


def _worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def _save_worker_metrics(
    saved: SqlAlchemyWorkerMetrics, worker_id: str, metrics: WorkerMetrics, stopped: bool = False
) -> None:
    """Save this worker's figures for `complaintflow serve`; a database outage only delays
    them (the job rides it). They age by wall-clock time, whatever the business clock says
    (a drill worker dated 2025 and a live one must not prune each other's rows as stale).
    The last save of a clean stop says so, so that a stopped worker is not taken for a
    silent one."""
    samples = [*metrics.samples(), *([MetricSample(STOPPED, (), 1)] if stopped else [])]
    saved.save(worker_id, samples, SystemClock().now())
