"""Timer benchmark: how fast the sweepers turn a burst of due timers into applied events.

A store is seeded with N complaints through the engine's own batch processor (no broker):
each holds four pending timers, one of which (the first-response warning) is due at the
clock the workers are started with, so N timers come due at once. Then 1 or 3 `complaintflow
run` processes (one consumer group, the embedded broker) sweep, publish timer.fired, consume
and apply them. Printed: seconds until every warning is applied, due timers applied per
second, and the database size. It prints figures; nothing here is a test.

    .venv/bin/python -m benchmarks.timers [--complaints 100000] [--workers [1 3]] [--sqlite]
"""

import argparse
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from uuid import NAMESPACE_URL, uuid5

from sqlalchemy import Engine, func, select, text, update

from complaintflow.consumers.kafka_consumer import partitioner
from complaintflow.engine.bootstrap import load_workflow
from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.embedded_broker import create_topics, embedded_broker
from complaintflow.engine.entrypoints.cli.sample_day import DAY_START
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.service.processing import BatchProcessor
from complaintflow.state_store.database import is_sqlite, open_engine
from complaintflow.state_store.schema import upgrade
from complaintflow.state_store.tables import history_t, outbox_t, timers_t
from complaintflow.state_store.unit_of_work import SqlAlchemyStore
from tests.support.broker import WorkerProcess
from tests.support.postgres_server import fresh_database, postgres_server

PARTITIONS = 6
# P4 (sizing, web): first response due 10 min after receipt, warned at 8 min.
DUE_CLOCK = DAY_START + timedelta(minutes=9)


def received(cid: str, n: int) -> bytes:
    return json.dumps(
        {
            "event_id": str(uuid5(NAMESPACE_URL, cid)),
            "type": "complaint.received",
            "complaint_id": cid,
            "occurred_at": DAY_START.isoformat(),
            "source": "bench",
            "schema_version": 1,
            "payload": {
                "customer_id": f"U{n}",
                "channel": "web",
                "category": "sizing",
                "description": "too small",
                "order_id": f"O{n}",
            },
        }
    ).encode()


def seed(engine: Engine, topics: Topics, complaints: int) -> float:
    """Complaints decided and written as a worker would, their outbox marked sent (those
    facts are not what is measured); returns seconds taken."""
    partition_of = partitioner(PARTITIONS)
    processor = BatchProcessor(
        SqlAlchemyStore(engine, FixedClock(DAY_START)),
        load_workflow(),
        FixedClock(DAY_START),
        topics,
        partition_of,
    )
    started = time.perf_counter()
    for first in range(0, complaints, 5000):
        batch = []
        for n in range(first, min(first + 5000, complaints)):
            cid = f"B-{n:07d}"
            value = received(cid, n)
            batch.append(
                InboundMessage(
                    topic=topics.inbound,
                    partition=partition_of(cid),
                    offset=n,
                    key=cid.encode(),
                    value=value,
                )
            )
        processor.process(batch)
    with engine.begin() as c:
        c.execute(update(outbox_t).values(sent_at=DAY_START))
    return time.perf_counter() - started


def warnings_applied(engine: Engine) -> int:
    with engine.connect() as c:
        query = select(func.count()).select_from(history_t)
        return c.scalar(query.where(history_t.c.type == "sla.warning")) or 0


def database_bytes(engine: Engine) -> int:
    if is_sqlite(engine):
        path = Path(str(engine.url.database))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
    with engine.connect() as c:
        return int(c.scalar(text("SELECT pg_database_size(current_database())")) or 0)


@contextmanager
def workers(count: int, bootstrap: str, url: str, topics: Topics) -> Iterator[None]:
    """`count` worker processes (the tests' WorkerProcess), clocks standing at DUE_CLOCK."""
    processes = [
        WorkerProcess(bootstrap, topics, url, DUE_CLOCK.isoformat(), batch_size=1000)
        for _ in range(count)
    ]
    try:
        yield
    finally:
        for process in processes:
            process.stop()


def run(label: str, url: str, count: int, complaints: int, bootstrap: str) -> None:
    engine = open_engine(url)
    topics = Topics(f"bench{os.urandom(4).hex()}")
    create_topics(bootstrap, topics, inbound_partitions=PARTITIONS)
    seconds = seed(engine, topics, complaints)
    with engine.connect() as c:
        pending = c.scalar(select(func.count()).select_from(timers_t)) or 0
        due = c.scalar(
            select(func.count()).select_from(timers_t).where(timers_t.c.due_at <= DUE_CLOCK)
        )
    size_before = database_bytes(engine)
    print(
        f"{label}: seeded {complaints:,} complaints in {seconds:.1f} s; "
        f"{pending:,} pending timers, {due:,} due at the workers' clock; "
        f"database {size_before / 2**20:,.1f} MiB",
        flush=True,
    )
    started = time.perf_counter()
    first = None
    with workers(count, bootstrap, url, topics):
        while (applied := warnings_applied(engine)) < complaints:
            if applied and first is None:
                first = time.perf_counter()
            if time.perf_counter() - started > 1800:
                raise SystemExit(f"{label}: only {applied:,} applied after 30 min")
            time.sleep(0.2)
    done = time.perf_counter()
    steady = complaints / (done - first) if first else float("nan")
    print(
        f"{label}, {count} worker(s): {complaints:,} due timers applied in "
        f"{done - started:.1f} s from start = {complaints / (done - started):,.0f}/s "
        f"({steady:,.0f}/s from the first applied, group join excluded); "
        f"database after {database_bytes(engine) / 2**20:,.1f} MiB",
        flush=True,
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument(
        "--workers", type=int, nargs="*", default=[1, 3], help="PostgreSQL runs; none: skip them"
    )
    parser.add_argument("--sqlite", action="store_true", help="also one worker on SQLite")
    args = parser.parse_args()
    with embedded_broker(Topics("complaints")) as connection:
        bootstrap = connection.bootstrap_servers
        if args.sqlite:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{tmp}/timers.db"
                upgrade(open_engine(url))
                run("SQLite", url, 1, args.complaints, bootstrap)
        if not args.workers:
            return
        with postgres_server() as server:
            for count in args.workers:
                with fresh_database(server) as url:
                    run("PostgreSQL", url, count, args.complaints, bootstrap)


if __name__ == "__main__":
    main()
