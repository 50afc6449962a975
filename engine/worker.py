"""One engine worker: consumer loop, outbox relay and timer sweeper, wired
from `Settings`. This is the only place that turns configuration into adapters."""

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from complaintflow.consumers.kafka_loop import InboundLoop, consumer_for, partitioner
from complaintflow.engine.clock import Clock, ScaledClock, SystemClock
from complaintflow.engine.errors import BrokerUnavailable, StoreUnavailable
from complaintflow.engine.processing import BatchProcessor
from complaintflow.engine.settings import Settings
from complaintflow.engine.topics import Topics
from complaintflow.engine.workflow import load_workflow
from complaintflow.producers.kafka_publisher import KafkaPublisher
from complaintflow.producers.outbox_relay import OutboxRelay
from complaintflow.producers.timer_sweeper import TimerSweeper
from complaintflow.state_store.database import is_sqlite, open_engine
from complaintflow.state_store.outbox_store import SqlAlchemyOutbox
from complaintflow.state_store.schema import require_head
from complaintflow.state_store.timer_store import SqlAlchemyTimers
from complaintflow.state_store.unit_of_work import SqlAlchemyStore


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


@dataclass
class Worker:
    settings: Settings
    bootstrap: str
    stop: threading.Event
    clock: Clock | None = None
    sweep_every_s: float = 1.0

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
            loop = InboundLoop(
                consumer=consumer_for(self.bootstrap, settings.group_id),
                topic=topics.inbound,
                processor=BatchProcessor(store, workflow, clock, topics, partition_of),
                relay=OutboxRelay(SqlAlchemyOutbox(engine), publisher, clock),
                max_records=settings.batch_size,
                stop=self.stop,
            )
            sweeper_publisher = KafkaPublisher(self.bootstrap)
            sweeper = TimerSweeper(SqlAlchemyTimers(engine), sweeper_publisher, clock, topics)
            scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1})
            scheduler.add_job(
                sweeper.sweep, "interval", seconds=self.sweep_every_s, id="timer-sweeper"
            )
            scheduler.start()
            try:
                loop.run()
            finally:
                scheduler.shutdown(wait=True)
                sweeper_publisher.close()
                publisher.close()
                engine.dispose()
