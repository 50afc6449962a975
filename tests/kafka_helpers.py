"""Reading topics and waiting on conditions, with deadlines (never bare sleeps)."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from builders import MONDAY_9
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from complaintflow.engine.clock import Clock, FixedClock
from complaintflow.engine.settings import Settings
from complaintflow.engine.worker import Worker


def wait_for(condition: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def read_topic(
    bootstrap: str,
    topic: str,
    count: int = 0,
    timeout: float = 60,
    enough: Callable[[list[Any]], bool] | None = None,
) -> list[Any]:
    """Records of a topic (all partitions) from the start until there are `count` of them, or
    until `enough(records)` holds; fail at the deadline."""
    done = enough or (lambda records: len(records) >= count)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        wait_for(lambda: bool(consumer.partitions_for_topic(topic)), 30, f"metadata of {topic}")
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while not done(records):
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: only {len(records)} records after {timeout} s")
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        return records
    finally:
        consumer.close(autocommit=False)


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
    worker = Worker(
        settings, bootstrap, stop, clock=clock or FixedClock(MONDAY_9), sweep_every_s=0.2
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
