"""`complaintflow bench`: end-to-end throughput and latency of one worker, against the raw
kafka-python ceiling on the same messages. It prints figures; nothing here is a test."""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from rich.table import Table

from complaintflow.engine.bootstrap import (
    broker,
    kafka_consumer,
    kafka_producer,
    load_workflow,
    open_database,
)
from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.draft import ENGINE_SOURCE
from complaintflow.engine.core.events import ComplaintReceived
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.core.replay import replay
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.embedded_broker import create_topics
from complaintflow.engine.entrypoints.cli.app import BootstrapOption, app, console, settings_from
from complaintflow.engine.entrypoints.cli.sample_day import DAY_START, sample_day
from complaintflow.engine.errors import ComplaintflowError
from complaintflow.engine.settings import KafkaConnection
from complaintflow.state_store.schema import upgrade

Keyed = tuple[bytes | None, bytes, str | None]


def _keyed(lines: list[bytes]) -> list[Keyed]:
    """(key, value, event_id or None for undecodable lines), as upstream would publish them."""
    keyed: list[Keyed] = []
    for line in lines:
        event = decode_event(line)
        if isinstance(event, Refusal):
            keyed.append((None, line, None))
        else:
            keyed.append((event.complaint_id.encode(), line, str(event.event_id)))
    return keyed


def _logged_ids(lines: list[bytes]) -> set[str]:
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


def _producer(connection: KafkaConnection) -> KafkaProducer:
    """kafka-python's own defaults but for batching: the raw ceiling is what it can carry."""
    return kafka_producer(connection, linger_ms=5, batch_size=512 * 1024)


def _assigned_consumer(connection: KafkaConnection, topic: str) -> KafkaConsumer:
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
    bootstrap: KafkaConnection,
    topics: Topics,
    messages: list[tuple[bytes | None, bytes, str | None]],
) -> dict[str, float]:
    """kafka-python alone on the same messages: produce, then consume + produce, no engine."""
    source, sink = f"{topics.prefix}.bench-raw", f"{topics.prefix}.bench-raw-out"
    create_topics(bootstrap, Topics(topics.prefix))
    producer = _producer(bootstrap)
    started = time.perf_counter()
    for key, value, _ in messages:
        producer.send(source, key=key, value=value)
    producer.flush()
    produce_s = time.perf_counter() - started
    consumer = _assigned_consumer(bootstrap, source)
    started = time.perf_counter()
    moved = 0
    while moved < len(messages):
        for records in consumer.poll(timeout_ms=500, max_records=5000).values():
            for r in records:
                producer.send(sink, key=r.key, value=r.value)
            moved += len(records)
    producer.flush()
    pipe_s = time.perf_counter() - started
    consumer.close()
    producer.close()
    return {"produce_per_s": len(messages) / produce_s, "consume_produce_per_s": moved / pipe_s}


def _still_clock_env() -> dict[str, str]:
    """The worker's clock stands (almost) still at the start of the sample day, so the bench
    measures event processing and no SLA timer of the 2025 sample comes due during it."""
    return {
        **os.environ,
        "COMPLAINTFLOW_CLOCK_START": DAY_START.isoformat(),
        "COMPLAINTFLOW_CLOCK_SPEED": "0.000001",
        "COMPLAINTFLOW_LOG_LEVEL": "WARNING",
    }


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _LogWatcher(threading.Thread):
    """Follows complaints.events and notes when each inbound event_id first appears."""

    def __init__(self, bootstrap: KafkaConnection, topic: str, wanted: set[str]) -> None:
        super().__init__(daemon=True)
        self.consumer = _assigned_consumer(bootstrap, topic)
        self.wanted = set(wanted)
        self.seen_at: dict[str, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for records in self.consumer.poll(timeout_ms=200).values():
                now = time.perf_counter()
                for r in records:
                    event_id = json.loads(r.value)["event_id"]
                    if event_id in self.wanted and event_id not in self.seen_at:
                        self.seen_at[event_id] = now
            if len(self.seen_at) >= len(self.wanted):
                self.done.set()
        self.consumer.close()


@app.command()
def bench(
    complaints: Annotated[int, typer.Option(help="Complaints (about 5.5 events each).")] = 10_000,
    bootstrap_servers: BootstrapOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the engine.")] = 600,
) -> None:
    """Publish N events for M complaints; measure events/s and latency to the event log."""
    settings = settings_from(
        bootstrap_servers=bootstrap_servers, topic_prefix=f"bench{int(time.time())}"
    )
    topics = Topics(settings.topic_prefix)
    lines = sample_day(complaints=complaints, seed=23)
    messages = _keyed(lines)
    applied_ids = _logged_ids(lines)
    with tempfile.TemporaryDirectory() as workdir, broker(settings) as bootstrap:
        database_url = f"sqlite:///{workdir}/bench.db"
        upgrade(open_database(settings.model_copy(update={"database_url": database_url})))
        ceiling = raw_ceiling(bootstrap, topics, messages)
        worker = subprocess.Popen(
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
            env=_still_clock_env(),
        )
        try:
            _warm_up(bootstrap, topics, worker)
            watcher = _LogWatcher(bootstrap, topics.events, applied_ids)
            watcher.start()
            producer = _producer(bootstrap)
            sent_at: dict[str, float] = {}
            first = time.perf_counter()
            for key, value, event_id in messages:
                if event_id is not None and event_id not in sent_at:
                    sent_at[event_id] = time.perf_counter()
                producer.send(topics.inbound, key=key, value=value)
            producer.flush()
            _wait_for_log(watcher, worker, timeout, len(applied_ids))
            peak = _peak_rss_mib(worker.pid)
            last = max(watcher.seen_at.values())
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    latencies = sorted(watcher.seen_at[e] - sent_at[e] for e in applied_ids)
    engine_rate = len(messages) / (last - first)
    where = settings.bootstrap_servers or "the embedded Tansu"
    _print(len(messages), complaints, engine_rate, latencies, peak, ceiling, where)


def _wait_for_log(
    watcher: _LogWatcher, worker: subprocess.Popen[bytes], timeout: float, expected: int
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


def _warm_up(bootstrap: KafkaConnection, topics: Topics, worker: subprocess.Popen[bytes]) -> None:
    """Wait until the worker has joined its group and applied one event."""
    first = next(
        e for e in map(decode_event, sample_day(complaints=1)) if isinstance(e, ComplaintReceived)
    )
    probe = first.model_copy(update={"complaint_id": "bench-warm-up"})
    key, event_id = probe.complaint_id.encode(), str(probe.event_id)
    producer = _producer(bootstrap)
    producer.send(topics.inbound, key=key, value=probe.model_dump_json().encode())
    producer.flush()
    watcher = _LogWatcher(bootstrap, topics.events, {event_id})
    watcher.start()
    if not watcher.done.wait(60):
        _, stderr = worker.communicate(timeout=5) if worker.poll() is not None else (b"", b"")
        raise ComplaintflowError(
            f"bench: worker did not start within 60 s {stderr.decode()[-300:]}"
        )


def _print(
    events: int,
    complaints: int,
    rate: float,
    latencies: list[float],
    peak: float,
    ceiling: dict[str, float],
    broker: str,
) -> None:
    table = Table(
        title=f"complaintflow bench: {events} events, {complaints} complaints, one worker, "
        f"SQLite, broker {broker}"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("engine end-to-end", f"{rate:,.0f} events/s")
    table.add_row(
        "latency publish -> event log p50", f"{statistics.median(latencies) * 1000:,.0f} ms"
    )
    table.add_row(
        "latency publish -> event log p99",
        f"{latencies[int(len(latencies) * 0.99) - 1] * 1000:,.0f} ms",
    )
    table.add_row("worker peak RSS", f"{peak:,.1f} MiB")
    table.add_row("raw kafka-python produce", f"{ceiling['produce_per_s']:,.0f} msg/s")
    table.add_row(
        "raw kafka-python consume + produce", f"{ceiling['consume_produce_per_s']:,.0f} msg/s"
    )
    table.add_row(
        "ratio engine / raw consume+produce", f"{rate / ceiling['consume_produce_per_s']:.2f}"
    )
    console.print(table)
