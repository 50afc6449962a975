"""`complaintflow bench --rate R --seconds S`: one worker at a steady rate, as a quiet or a
busy day feeds it, with its SLA timers and its relay at work: throughput, latency from send
to arrival on the event log, and the worker's memory over the run (a soak when S is long).

The worker's clock runs so that the sample day's events span the run: SLA warnings,
breaches and escalations come due and are applied while events keep arriving."""

import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from complaintflow.engine.bootstrap import open_database
from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.entrypoints.cli.bench_parts import (
    LogWatcher,
    keyed,
    logged_ids,
    memory_mib,
    producer,
    start_worker,
    wait_for_log,
    warm_up,
)
from complaintflow.engine.entrypoints.cli.sample_day import sample_day
from complaintflow.engine.settings import KafkaConnection, Settings
from complaintflow.state_store.summary import StoreSummary, summarize

EVENTS_PER_COMPLAINT = 5  # the sample day has a little more; the day is cut at the count


@dataclass
class SteadyRun:
    rate: float
    seconds: float
    sent: int = 0
    sending_s: float = 0.0
    applied_s: float = 0.0
    latencies: list[float] = field(default_factory=list)
    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds in, MiB)
    peak_mib: float = 0.0
    store: StoreSummary | None = None


class _RssSampler(threading.Thread):
    """The worker's resident memory once a second while the run lasts."""

    def __init__(self, pid: int, run: SteadyRun) -> None:
        super().__init__(daemon=True)
        self.pid, self.run_figures, self.stop = pid, run, threading.Event()
        self.started = time.perf_counter()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            self.run_figures.rss.append(
                (time.perf_counter() - self.started, memory_mib(self.pid, "VmRSS"))
            )


def _occurred_at(lines: list[bytes]) -> list[datetime]:
    return [e.occurred_at for e in map(decode_event, lines) if not isinstance(e, Refusal)]


def steady_run(
    settings: Settings,
    bootstrap: KafkaConnection,
    database_url: str,
    rate: float,
    seconds: float,
    timeout: float,
) -> SteadyRun:
    """Send rate x seconds events of the sample day evenly spaced, then wait for the last."""
    figures = SteadyRun(rate=rate, seconds=seconds)
    count = max(1, round(rate * seconds))
    lines = sample_day(complaints=math.ceil(count / EVENTS_PER_COMPLAINT) + 10, seed=29)[:count]
    messages, wanted = keyed(lines), logged_ids(lines)
    times = _occurred_at(lines)
    speed = max((max(times) - min(times)).total_seconds() / seconds, 1.0)
    topics = Topics(settings.topic_prefix)
    worker = start_worker(bootstrap, database_url, topics, min(times).isoformat(), speed)
    try:
        warm_up(bootstrap, topics, worker)
        watcher = LogWatcher(bootstrap, topics.events, wanted)
        watcher.start()
        sampler = _RssSampler(worker.pid, figures)
        sampler.start()
        sender = producer(bootstrap, linger_ms=0)
        sent_at: dict[str, float] = {}
        first = time.perf_counter()
        for number, (key, value, event_id) in enumerate(messages):
            pause = first + number / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)  # pacing the sender, not waiting on the engine
            if event_id is not None:
                sent_at.setdefault(event_id, time.perf_counter())
            sender.send(topics.inbound, key=key, value=value)
        sender.flush()
        figures.sent, figures.sending_s = len(messages), time.perf_counter() - first
        wait_for_log(watcher, worker, timeout, len(wanted))
        sampler.stop.set()
        figures.applied_s = max(watcher.seen_at.values()) - first
        figures.peak_mib = memory_mib(worker.pid, "VmHWM")
        figures.latencies = sorted(watcher.seen_at[e] - sent_at[e] for e in wanted)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    figures.store = summarize(
        open_database(settings.model_copy(update={"database_url": database_url}))
    )
    return figures
