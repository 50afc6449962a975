"""The broker as tests use it: publishing, reading topics with deadlines (never bare sleeps),
and workers run against it in a thread or as their own process."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from complaintflow.engine.bootstrap import build_worker, kafka_consumer
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.ports import Clock
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.service.worker import Worker
from complaintflow.engine.settings import KafkaConnection, Settings
from tests.support.builders import MONDAY_9
from tests.support.waiting import wait_for


def read_topic(
    bootstrap: KafkaConnection | str,
    topic: str,
    count: int = 0,
    timeout: float = 60,
    enough: Callable[[list[Any]], bool] | None = None,
) -> list[Any]:
    """Records of a topic (all partitions) from the start until there are `count` of them, or
    until `enough(records)` holds; fail at the deadline. Read by the engine's own consumer,
    so a secured connection is read as the engine reads it."""
    done = enough or (lambda records: len(records) >= count)
    return _read(bootstrap, topic, timeout, lambda _consumer, _ends, records: done(records))


def read_to_end(bootstrap: KafkaConnection | str, topic: str, timeout: float = 60) -> list[Any]:
    """Every record a topic holds now (all partitions, up to their end offsets when asked):
    for counting what was published, where `read_topic(count=...)` stops at a minimum."""

    def at_end(consumer: KafkaConsumer, ends: dict[Any, int], _records: list[Any]) -> bool:
        return all(consumer.position(tp) >= end for tp, end in ends.items())

    return _read(bootstrap, topic, timeout, at_end)


def _read(
    bootstrap: KafkaConnection | str,
    topic: str,
    timeout: float,
    done: Callable[[KafkaConsumer, dict[Any, int], list[Any]], bool],
) -> list[Any]:
    """From the start of every partition until `done(consumer, end offsets, records)`."""
    consumer = kafka_consumer(KafkaConnection.of(bootstrap))
    try:
        wait_for(lambda: bool(consumer.partitions_for_topic(topic)), 30, f"metadata of {topic}")
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while not done(consumer, ends, records):
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: only {len(records)} records after {timeout} s")
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        return records
    finally:
        consumer.close(autocommit=False)


def watched(
    worker: "WorkerProcess", condition: Callable[[], bool], timeout: float, what: str
) -> None:
    """`wait_for`, failing with the worker's log."""
    try:
        wait_for(condition, timeout, what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the worker's log:\n{''.join(worker.log)}") from None


def values(records: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records]


def publish(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_in_flight_requests_per_connection=1)
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


@contextmanager
def running_worker(  # the clock stands at the test events' time unless a test moves it
    settings: Settings, bootstrap: str, clock: Clock | None = None
) -> Iterator[Worker]:
    stop = threading.Event()
    worker = build_worker(
        settings,
        KafkaConnection.of(bootstrap),
        stop,
        clock=clock or FixedClock(MONDAY_9),
        sweep_every_s=0.2,
    )
    errors: list[BaseException] = []

    def target() -> None:
        try:
            worker.run()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(timeout=30)
        if errors:
            raise errors[0]


class WorkerProcess:
    """`complaintflow run` as its own process, in the test's consumer group, its clock standing
    (almost) still at `clock_start`, so only timers due by then fire. Its log is collected as
    it comes, so a test can wait for its partition assignment."""

    def __init__(
        self,
        broker: str,
        topics: Topics,
        database_url: str,
        clock_start: str,
        batch_size: int = 25,
    ) -> None:
        env = {
            **os.environ,
            "COMPLAINTFLOW_BATCH_SIZE": str(batch_size),
            "COMPLAINTFLOW_CLOCK_START": clock_start,
            "COMPLAINTFLOW_CLOCK_SPEED": "0.000001",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "complaintflow.engine",
                "run",
                "--bootstrap-servers",
                broker,
                "--database-url",
                database_url,
                "--topic-prefix",
                topics.prefix,
                "--group-id",
                f"{topics.prefix}-engine",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)

    def assigned(self) -> set[int]:
        """The inbound partitions of its latest assignment (none before the first)."""
        marker = "partitions assigned: "
        latest = [line for line in self.log if marker in line]
        if not latest:
            return set()
        listed = latest[-1].split(marker, 1)[1].strip().strip("[]")
        return {int(p) for p in listed.split(",") if p.strip()}

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM; a worker that was still running must then exit cleanly (status 0). Its log
        may hold kafka-python's own tracebacks of sockets closed under it; those are no error."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        status = self.process.wait(timeout=30)
        self._reader.join(timeout=10)
        assert status == 0, "".join(self.log)
