"""What both `complaintflow bench` runs (a backlog, a steady rate) are made of: the sample
day as upstream publishes it, kafka-python's raw ceiling, the worker process and the
watcher that times each event's arrival on the event log. Nothing here is a test."""

import json
import math
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from complaintflow.engine.bootstrap import kafka_consumer, kafka_producer, load_workflow
from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.draft import ENGINE_SOURCE
from complaintflow.engine.core.events import ComplaintReceived
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.core.replay import replay
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.embedded_broker import create_topics
from complaintflow.engine.entrypoints.cli.sample_day import sample_day
from complaintflow.engine.errors import ComplaintflowError
from complaintflow.engine.settings import KafkaConnection

Keyed = tuple[bytes | None, bytes, str | None]


def keyed(lines: list[bytes]) -> list[Keyed]:
    """(key, value, event_id or None for undecodable lines), as upstream would publish them."""
    messages: list[Keyed] = []
    for line in lines:
        event = decode_event(line)
        if isinstance(event, Refusal):
            messages.append((None, line, None))
        else:
            messages.append((event.complaint_id.encode(), line, str(event.event_id)))
    return messages


def logged_ids(lines: list[bytes]) -> set[str]:
    """Inbound event ids a clean replay re-emits on the event log, except complaint.received
    events that may be merged: which of two channels' reports survives depends on which
    partition is read first, and a merged report shows up as complaint.merged instead."""
    decoded = [e for e in map(decode_event, lines) if not isinstance(e, Refusal)]
    orders = Counter(
        (e.payload.customer_id, e.payload.order_id)
        for e in decoded
        if isinstance(e, ComplaintReceived)
    )
    mergeable = {
        str(e.event_id)
        for e in decoded
        if isinstance(e, ComplaintReceived)
        and orders[(e.payload.customer_id, e.payload.order_id)] > 1
    }
    return {
        str(entry.event_id)
        for history in replay(lines, load_workflow(), fire_timers=False).history.values()
        for entry in history
        if entry.source != ENGINE_SOURCE and str(entry.event_id) not in mergeable
    }


def producer(connection: KafkaConnection, linger_ms: int = 5) -> KafkaProducer:
    """kafka-python's own defaults but for batching: the raw ceiling is what it can carry."""
    return kafka_producer(connection, linger_ms=linger_ms, batch_size=512 * 1024)


def assigned_consumer(connection: KafkaConnection, topic: str) -> KafkaConsumer:
    consumer = kafka_consumer(connection, fetch_max_bytes=32 * 1024 * 1024)
    deadline = time.monotonic() + 30
    while not (partitions := consumer.partitions_for_topic(topic)):
        if time.monotonic() > deadline:
            raise ComplaintflowError(f"bench: no metadata for topic {topic} within 30 s")
        time.sleep(0.05)
    consumer.assign([TopicPartition(topic, p) for p in partitions])
    consumer.seek_to_beginning()
    return consumer


def raw_ceiling(
    bootstrap: KafkaConnection, topics: Topics, messages: list[Keyed]
) -> dict[str, float]:
    """kafka-python alone on the same messages: produce, then consume + produce, no engine."""
    source, sink = f"{topics.prefix}.bench-raw", f"{topics.prefix}.bench-raw-out"
    create_topics(bootstrap, Topics(topics.prefix))
    sender = producer(bootstrap)
    started = time.perf_counter()
    for key, value, _ in messages:
        sender.send(source, key=key, value=value)
    sender.flush()
    produce_s = time.perf_counter() - started
    consumer = assigned_consumer(bootstrap, source)
    started = time.perf_counter()
    moved = 0
    while moved < len(messages):
        for records in consumer.poll(timeout_ms=500, max_records=5000).values():
            for r in records:
                sender.send(sink, key=r.key, value=r.value)
            moved += len(records)
    sender.flush()
    pipe_s = time.perf_counter() - started
    consumer.close()
    sender.close()
    return {"produce_per_s": len(messages) / produce_s, "consume_produce_per_s": moved / pipe_s}


def start_worker(
    bootstrap: KafkaConnection,
    database_url: str,
    topics: Topics,
    clock_start: str,
    clock_speed: float,
) -> subprocess.Popen[bytes]:
    """`complaintflow run` as its own process, its clock starting at `clock_start` and running
    at `clock_speed` (SLA timers come due as they would on the sample day's time scale)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "complaintflow.engine",
            "run",
            "--bootstrap-servers",
            bootstrap.bootstrap_servers,
            "--database-url",
            database_url,
            "--topic-prefix",
            topics.prefix,
            "--group-id",
            f"{topics.prefix}-g",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={
            **os.environ,
            "COMPLAINTFLOW_CLOCK_START": clock_start,
            "COMPLAINTFLOW_CLOCK_SPEED": repr(clock_speed),
            "COMPLAINTFLOW_LOG_LEVEL": "WARNING",
            # the broker's fetch wait goes with its address (10 ms on the embedded Tansu)
            "COMPLAINTFLOW_KAFKA_FETCH_MAX_WAIT": f"{bootstrap.fetch_max_wait_ms}ms",
        },
    )


def memory_mib(pid: int, field: str) -> float:
    """A /proc/<pid>/status memory figure in MiB: VmRSS now, VmHWM the peak."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class LogWatcher(threading.Thread):
    """Follows complaints.events and notes when each inbound event_id first appears."""

    def __init__(self, bootstrap: KafkaConnection, topic: str, wanted: set[str]) -> None:
        super().__init__(daemon=True)
        self.consumer = assigned_consumer(bootstrap, topic)
        self.wanted = set(wanted)
        self.seen_at: dict[str, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for records in self.consumer.poll(timeout_ms=50).values():
                now = time.perf_counter()
                for r in records:
                    event_id = json.loads(r.value)["event_id"]
                    if event_id in self.wanted and event_id not in self.seen_at:
                        self.seen_at[event_id] = now
            if len(self.seen_at) >= len(self.wanted):
                self.done.set()
        self.consumer.close()


def wait_for_log(
    watcher: LogWatcher, worker: subprocess.Popen[bytes], timeout: float, expected: int
) -> None:
    """Until every expected event is on the log; a worker that exits ends the wait at once."""
    deadline = time.monotonic() + timeout
    while not watcher.done.wait(0.5):
        if worker.poll() is not None:
            stderr = worker.stderr.read().decode() if worker.stderr else ""
            raise ComplaintflowError(
                f"bench: the worker exited with {worker.returncode} after "
                f"{len(watcher.seen_at)} of {expected} events: {stderr[-500:]}"
            )
        if time.monotonic() > deadline:
            raise ComplaintflowError(
                f"bench: {len(watcher.seen_at)} of {expected} events on the log in {timeout:.0f} s"
            )


def warm_up(bootstrap: KafkaConnection, topics: Topics, worker: subprocess.Popen[bytes]) -> None:
    """Wait until the worker has joined its group and applied one event."""
    first = next(
        e for e in map(decode_event, sample_day(complaints=1)) if isinstance(e, ComplaintReceived)
    )
    probe = first.model_copy(update={"complaint_id": "bench-warm-up"})
    sender = producer(bootstrap)
    sender.send(topics.inbound, key=b"bench-warm-up", value=probe.model_dump_json().encode())
    sender.flush()
    sender.close()
    watcher = LogWatcher(bootstrap, topics.events, {str(probe.event_id)})
    watcher.start()
    if not watcher.done.wait(60):
        _, stderr = worker.communicate(timeout=5) if worker.poll() is not None else (b"", b"")
        raise ComplaintflowError(
            f"bench: worker did not start within 60 s {stderr.decode()[-300:]}"
        )


def percentile(sorted_values: list[float], share: float) -> float:
    """The nearest-rank percentile of already sorted values."""
    return sorted_values[max(0, math.ceil(len(sorted_values) * share) - 1)]
