"""`complaintflow bench`: end-to-end throughput and latency of one worker, against the raw
kafka-python ceiling on the same messages; or, with --rate, one worker at a steady rate over
time (bench_steady). It prints figures; nothing here is a test."""

import tempfile
import time
from typing import Annotated

import typer
from rich.table import Table

from complaintflow.engine.bootstrap import broker, open_database
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.entrypoints.cli.app import BootstrapOption, app, console, settings_from
from complaintflow.engine.entrypoints.cli.bench_parts import (
    LogWatcher,
    keyed,
    logged_ids,
    memory_mib,
    percentile,
    producer,
    raw_ceiling,
    start_worker,
    wait_for_log,
    warm_up,
)
from complaintflow.engine.entrypoints.cli.bench_steady import SteadyRun, steady_run
from complaintflow.engine.entrypoints.cli.sample_day import DAY_START, sample_day
from complaintflow.engine.settings import KafkaConnection, Settings
from complaintflow.state_store.schema import upgrade

STILL = 0.000001  # a clock standing (almost) still: no SLA timer of the sample comes due


@app.command()
def bench(
    complaints: Annotated[int, typer.Option(help="Complaints (about 5.5 events each).")] = 10_000,
    rate: Annotated[
        float | None,
        typer.Option(min=1, help="Events/s sent at a steady rate instead of all at once."),
    ] = None,
    seconds: Annotated[
        float, typer.Option(min=1, help="With --rate: how long to send (a soak: 600 or more).")
    ] = 60,
    bootstrap_servers: BootstrapOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the engine.")] = 600,
) -> None:
    """Publish N events for M complaints as a backlog, or at --rate for --seconds; measure
    events/s, latency from send to the event log, and the worker's memory."""
    settings = settings_from(
        bootstrap_servers=bootstrap_servers, topic_prefix=f"bench{int(time.time())}"
    )
    where = settings.bootstrap_servers or "the embedded Tansu"
    with tempfile.TemporaryDirectory() as workdir, broker(settings) as bootstrap:
        database_url = f"sqlite:///{workdir}/bench.db"
        upgrade(open_database(settings.model_copy(update={"database_url": database_url})))
        if rate is None:
            _backlog_run(settings, bootstrap, database_url, complaints, timeout, where)
        else:
            run = steady_run(settings, bootstrap, database_url, rate, seconds, timeout)
            _print_steady(run, where)


def _backlog_run(
    settings: Settings,
    bootstrap: KafkaConnection,
    database_url: str,
    complaints: int,
    timeout: float,
    where: str,
) -> None:
    topics = Topics(settings.topic_prefix)
    lines = sample_day(complaints=complaints, seed=23)
    messages, applied_ids = keyed(lines), logged_ids(lines)
    ceiling = raw_ceiling(bootstrap, topics, messages)
    worker = start_worker(bootstrap, database_url, topics, DAY_START.isoformat(), STILL)
    try:
        warm_up(bootstrap, topics, worker)
        watcher = LogWatcher(bootstrap, topics.events, applied_ids)
        watcher.start()
        sender = producer(bootstrap)
        sent_at: dict[str, float] = {}
        first = time.perf_counter()
        for key, value, event_id in messages:
            if event_id is not None and event_id not in sent_at:
                sent_at[event_id] = time.perf_counter()
            sender.send(topics.inbound, key=key, value=value)
        sender.flush()
        wait_for_log(watcher, worker, timeout, len(applied_ids))
        peak = memory_mib(worker.pid, "VmHWM")
        last = max(watcher.seen_at.values())
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    latencies = sorted(watcher.seen_at[e] - sent_at[e] for e in applied_ids)
    engine_rate = len(messages) / (last - first)
    table = _table(
        f"complaintflow bench: {len(messages)} events, {complaints} complaints, one worker, "
        f"SQLite, broker {where}"
    )
    table.add_row("engine end-to-end", f"{engine_rate:,.0f} events/s")
    _latency_rows(table, latencies)
    table.add_row("worker peak RSS", f"{peak:,.1f} MiB")
    table.add_row("raw kafka-python produce", f"{ceiling['produce_per_s']:,.0f} msg/s")
    table.add_row(
        "raw kafka-python consume + produce", f"{ceiling['consume_produce_per_s']:,.0f} msg/s"
    )
    table.add_row(
        "ratio engine / raw consume+produce",
        f"{engine_rate / ceiling['consume_produce_per_s']:.2f}",
    )
    console.print(table)


def _table(title: str) -> Table:
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    return table


def _latency_rows(table: Table, latencies: list[float]) -> None:
    for name, share in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        table.add_row(
            f"latency send -> event log {name}", f"{percentile(latencies, share) * 1000:,.1f} ms"
        )
    table.add_row("latency send -> event log max", f"{latencies[-1] * 1000:,.1f} ms")


def _print_steady(run: SteadyRun, where: str) -> None:
    table = _table(
        f"complaintflow bench --rate {run.rate:g} --seconds {run.seconds:g}: one worker, "
        f"SQLite, broker {where}, SLA timers and relay running"
    )
    table.add_row("events sent", f"{run.sent:,} in {run.sending_s:,.1f} s")
    table.add_row(
        "throughput (first sent to last on the log)", f"{run.sent / run.applied_s:,.1f} events/s"
    )
    _latency_rows(table, run.latencies)
    if run.rss:  # sampled once a second: none in a run under a second
        middle = run.rss[len(run.rss) // 2]
        for name, (at, mib) in (("start", run.rss[0]), ("middle", middle), ("end", run.rss[-1])):
            table.add_row(f"worker RSS at {name} ({at:,.0f} s)", f"{mib:,.1f} MiB")
        table.add_row("worker RSS highest sampled", f"{max(m for _, m in run.rss):,.1f} MiB")
    table.add_row("worker peak RSS (VmHWM)", f"{run.peak_mib:,.1f} MiB")
    if run.store is not None:
        table.add_row("SLA breaches applied by timers", f"{run.store.breaches:,}")
        table.add_row("escalations", f"{run.store.escalations:,}")
        table.add_row("outbox backlog at the end", f"{run.store.outbox_backlog:,}")
    console.print(table)
