"""A worker process whose database goes away mid-stream rides it out: PostgreSQL stopped for
10 s and started again, a SQLite file locked by another process past the worker's busy
timeout. The worker stays alive and in its group, says once that the database went and once
that it came back, and every event is applied exactly once. And its stop: a SIGTERM during an
outage exits 0 at once, applying nothing; a second signal exits at once even while the worker
waits inside the driver, and the next worker applies what was left, once."""

import json
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_postgresql.executors.proc import PostgreSQLExecutor
from sqlalchemy import Engine, select

from complaintflow.engine.core.replay import replay
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.embedded_broker import create_topics
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.summary import summarize
from complaintflow.state_store.tables import inbox_t
from tests.support.broker import WorkerProcess, publish, watched
from tests.support.builders import MONDAY_9, RECEIVED, envelope_dict
from tests.support.invariants import (
    event_log_of,
    history_counts,
    stored_states,
    versions_on_log,
)
from tests.support.postgres_server import fresh_database, postgres_server

CLOCK_START = MONDAY_9.isoformat()  # the workers' clock stands there: no timer comes due
WENT = "database unavailable since"
BACK = "database back after"


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgreSQLExecutor]:
    """A server of this module's own, since its tests stop and start it."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def inbound(tansu: str) -> Topics:
    topics = Topics(f"t{uuid.uuid4().hex[:10]}")
    create_topics(tansu, topics, inbound_partitions=4)
    return topics


def stream(complaints: int, first: int = 0) -> list[tuple[bytes, bytes]]:
    """(key, value) of each complaint received, then answered a minute later; complaints
    interleave, each its own customer and order (no merges)."""
    lines = []
    for step, type_ in enumerate(("complaint.received", "agent.responded")):
        for n in range(first, first + complaints):
            cid = f"D-{n:05d}"
            payload = (
                {**RECEIVED, "customer_id": f"U{n}", "order_id": f"O{n}"} if step == 0 else None
            )
            at = MONDAY_9 + timedelta(minutes=step)
            envelope = envelope_dict(type_, complaint_id=cid, at=at, payload=payload)
            lines.append((cid.encode(), json.dumps(envelope).encode()))
    return lines


class Upstream(threading.Thread):
    """Publishes `lines` in chunks at a steady pace, as an upstream system would."""

    def __init__(self, bootstrap: str, topic: str, lines: list[tuple[bytes, bytes]]) -> None:
        super().__init__(name="upstream", daemon=True)
        self.bootstrap, self.topic, self.lines = bootstrap, topic, lines
        self.published = 0

    def run(self) -> None:
        for start in range(0, len(self.lines), 20):
            publish(self.bootstrap, self.topic, self.lines[start : start + 20])
            self.published = min(start + 20, len(self.lines))
            time.sleep(0.25)


def lines_of(worker: WorkerProcess, marker: str) -> list[str]:
    return [line for line in worker.log if marker in line]


def applied_exactly_once(
    engine: Engine, lines: list[tuple[bytes, bytes]], workflow: Workflow, bootstrap: str, t: Topics
) -> None:
    """Every event is in the inbox once, every complaint ends as a clean replay ends it, no
    history row is written twice, and the event log holds each complaint's versions in order."""
    expected = replay([value for _, value in lines], workflow, fire_timers=False)
    with engine.connect() as c:
        inbox = list(c.scalars(select(inbox_t.c.message_key)))
    assert sorted(inbox) == sorted({json.loads(v)["event_id"] for _, v in lines})
    assert stored_states(engine) == {
        cid: (c.state, c.version) for cid, c in expected.complaints.items()
    }
    rows, distinct_ids = history_counts(engine)
    assert rows == distinct_ids == sum(len(h) for h in expected.history.values())
    versions_on_log(event_log_of(bootstrap, t.events, engine))


@pytest.mark.slow  # about 26 s: a stream of 16 s, PostgreSQL stopped for 10 s of it
def test_a_worker_rides_out_postgresql_stopped_mid_stream(
    tansu: str,
    inbound: Topics,
    own_postgres: PostgreSQLExecutor,
    workflow: Workflow,
    tmp_path: Path,
) -> None:
    with fresh_database(own_postgres) as url:
        engine = open_engine(url)
        lines = stream(600)
        # Given a worker on PostgreSQL consuming a stream of 1,200 events
        worker = WorkerProcess(tansu, inbound, url, CLOCK_START)
        try:
            watched(worker, lambda: bool(worker.assigned()), 90, "the worker's partitions")
            upstream = Upstream(tansu, inbound.inbound, lines)
            upstream.start()
            watched(
                worker, lambda: summarize(engine).processed >= 300, 60, "the worker to get going"
            )

            # When PostgreSQL is stopped for 10 s mid-stream, then started
            own_postgres.stop()
            stopped = time.monotonic()
            at_stop = upstream.published
            watched(worker, lambda: bool(lines_of(worker, WENT)), 30, "the worker to notice")
            time.sleep(max(0.0, 10 - (time.monotonic() - stopped)))  # the outage itself
            own_postgres.start()
            started = time.monotonic()
            watched(worker, lambda: bool(lines_of(worker, BACK)), 60, "the worker to resume")
            resumed = time.monotonic()
            upstream.join(timeout=60)
            assert at_stop < len(lines) and upstream.published == len(lines)
            watched(
                worker,
                lambda: (s := summarize(engine)).processed == len(lines) and s.outbox_backlog == 0,
                120,
                "every event applied and the outbox drained",
            )
            # Then the worker stayed alive, said so once each way, and exits cleanly
            assert worker.process.poll() is None, "".join(worker.log)
        finally:
            worker.stop()
            (tmp_path / "worker.log").write_text("".join(worker.log))
        print(
            f"\nPostgreSQL down {started - stopped:.1f} s; the worker resumed "
            f"{resumed - started:.1f} s after it was back"
        )
        assert len(lines_of(worker, WENT)) == 1, "".join(worker.log)
        assert len(lines_of(worker, BACK)) == 1, "".join(worker.log)
        assert not any("Traceback" in line for line in worker.log), "".join(worker.log)
        applied_exactly_once(engine, lines, workflow, tansu, inbound)
        engine.dispose()


@pytest.mark.slow  # about 20 s: the file is locked for 12 s, longer than max_poll_interval
def test_a_worker_rides_out_a_sqlite_file_locked_by_another_process(
    tansu: str,
    inbound: Topics,
    sqlite_url: str,
    workflow: Workflow,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a worker on SQLite that waits 1 s for the write lock, having applied 200 events
    monkeypatch.setenv("COMPLAINTFLOW_SQLITE_BUSY_TIMEOUT", "1s")
    engine = open_engine(sqlite_url)
    before, during = stream(100), stream(100, first=100)
    worker = WorkerProcess(tansu, inbound, sqlite_url, CLOCK_START)
    try:
        publish(tansu, inbound.inbound, before)
        watched(worker, lambda: summarize(engine).processed == 200, 90, "the first 200 events")

        # When another process holds the file's write lock for 12 s while events arrive
        lock = sqlite3.connect(Path(sqlite_url.removeprefix("sqlite:///")), isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        locked = time.monotonic()
        publish(tansu, inbound.inbound, during)
        watched(worker, lambda: bool(lines_of(worker, WENT)), 30, "the worker to notice")
        time.sleep(max(0.0, 12 - (time.monotonic() - locked)))  # the lock held
        assert summarize(engine).processed == 200
        lock.rollback()
        lock.close()
        released = time.monotonic()
        watched(worker, lambda: bool(lines_of(worker, BACK)), 30, "the worker to resume")
        resumed = time.monotonic() - released
        print(f"\nSQLite locked {released - locked:.1f} s; resumed {resumed:.1f} s after")
        watched(
            worker,
            lambda: (s := summarize(engine)).processed == 400 and s.outbox_backlog == 0,
            60,
            "every event applied and the outbox drained",
        )
        # Then the worker rode it out without leaving its group
        assert worker.process.poll() is None, "".join(worker.log)
        assert len(lines_of(worker, "partitions assigned")) == 1, "".join(worker.log)
    finally:
        worker.stop()
    assert len(lines_of(worker, WENT)) == len(lines_of(worker, BACK)) == 1, "".join(worker.log)
    applied_exactly_once(engine, before + during, workflow, tansu, inbound)


@pytest.mark.slow  # about 40 s: three workers in turn, each joining the group
def test_a_stop_during_an_outage_and_a_second_signal_lose_nothing(
    tansu: str,
    inbound: Topics,
    sqlite_url: str,
    workflow: Workflow,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = open_engine(sqlite_url)
    first, second = stream(5), stream(5, first=5)
    lock = sqlite3.connect(Path(sqlite_url.removeprefix("sqlite:///")), isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")

    # Given a worker in an outage (the file locked), holding a batch
    monkeypatch.setenv("COMPLAINTFLOW_SQLITE_BUSY_TIMEOUT", "1s")
    worker = WorkerProcess(tansu, inbound, sqlite_url, CLOCK_START)
    watched(worker, lambda: bool(worker.assigned()), 90, "the first worker's partitions")
    publish(tansu, inbound.inbound, first)
    watched(worker, lambda: bool(lines_of(worker, WENT)), 30, "the first worker to meet the lock")
    # When it is told to stop, it stops at once, cleanly, having applied nothing
    signalled = time.monotonic()
    worker.stop()
    assert time.monotonic() - signalled < 5
    assert summarize(engine).processed == 0

    # Given a worker that waits 30 s for SQLite's lock, which applied that batch, and then
    # meets the lock again with the next batch: it waits inside the driver
    lock.rollback()
    monkeypatch.setenv("COMPLAINTFLOW_SQLITE_BUSY_TIMEOUT", "30s")
    worker = WorkerProcess(tansu, inbound, sqlite_url, CLOCK_START)
    watched(
        worker,
        lambda: (s := summarize(engine)).processed == 10 and s.outbox_backlog == 0,
        120,
        "the second worker to apply the first batch",
    )
    lock.execute("BEGIN EXCLUSIVE")
    publish(tansu, inbound.inbound, second)
    # When it gets SIGTERM, it says it stops after the batch in hand; if it is still running
    # then (the batch polled, its transaction waiting for the lock), a second signal ends it
    # at once; if it had not polled the batch yet, it has stopped cleanly. Either way the
    # held batch is not applied and no offset of it is committed.
    worker.process.send_signal(signal.SIGTERM)
    watched(worker, lambda: bool(lines_of(worker, "stopping after the batch")), 10, "SIGTERM")
    signalled = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    status = worker.process.wait(timeout=10)
    assert status in (0, 128 + signal.SIGTERM), "".join(worker.log)
    if status:
        assert time.monotonic() - signalled < 1.5
    assert summarize(engine).processed == 10

    # Then the next worker applies every event once
    lock.rollback()
    lock.close()
    monkeypatch.delenv("COMPLAINTFLOW_SQLITE_BUSY_TIMEOUT")
    worker = WorkerProcess(tansu, inbound, sqlite_url, CLOCK_START)
    try:
        watched(
            worker,
            lambda: (s := summarize(engine)).processed == 20 and s.outbox_backlog == 0,
            150,
            "the third worker to apply everything",
        )
    finally:
        worker.stop()
    applied_exactly_once(engine, first + second, workflow, tansu, inbound)
