"""`complaintflow demo`: the main job on the embedded default, a simulated day end to end."""

import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import Engine

from complaintflow.consumers.desk_service import reply_id
from complaintflow.engine.bootstrap import (
    broker,
    build_worker,
    complaint_publisher,
    desk_service,
    load_workflow,
    open_database,
)
from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.entrypoints.cli.app import DatabaseOption, app, console, settings_from
from complaintflow.engine.entrypoints.cli.demo_revisits import REVISIT_DESK, revisit_desk
from complaintflow.engine.entrypoints.cli.report import demo_report
from complaintflow.engine.entrypoints.cli.sample_day import SHANGHAI, sample_day
from complaintflow.engine.entrypoints.cli.worker import stop_on_signals
from complaintflow.engine.errors import BrokerUnavailable, ComplaintflowError
from complaintflow.engine.service.clock import ScaledClock
from complaintflow.engine.service.worker import Worker
from complaintflow.engine.settings import Settings
from complaintflow.state_store.database import store_errors
from complaintflow.state_store.inbox import processed_inputs
from complaintflow.state_store.schema import upgrade
from complaintflow.state_store.summary import DeskSummary, StoreSummary, desk_summary, summarize

DEMO_DATABASE = "sqlite:///complaintflow-demo.db"
DEMO_REPORT = Path("complaintflow-report.html")


def _wait_until_consuming(worker: Worker, thread: "_Captured", timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not worker.consuming.wait(0.1):
        if thread.error is not None:
            raise thread.error
        if time.monotonic() > deadline:
            raise BrokerUnavailable(f"the worker joined no consumer group within {timeout_s:.0f} s")


class _Captured(threading.Thread):
    """A background part of the demo (the worker, the call-back desk) whose error the main
    thread re-raises instead of waiting out its timeout."""

    def __init__(self, name: str, target: Callable[[], None]) -> None:
        super().__init__(name=name, daemon=True)
        self.target = target
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.target()
        except BaseException as exc:
            self.error = exc


@app.command()
def demo(
    complaints: Annotated[int, typer.Option(help="Complaints in the simulated day.")] = 400,
    database_url: DatabaseOption = None,
    clock_speed: Annotated[
        float, typer.Option(help="Clock seconds per wall-clock second (2 h a second).")
    ] = 7200,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the engine.")] = 600,
) -> None:
    """The main job: broker + worker + a realistic day of complaints on a compressed clock.

    Each event is published when the worker's clock reaches its time, so SLA warnings,
    breaches, escalations, revisits and archiving happen as they would in a real day. Ends
    with the KPI report, printed and written to complaintflow-report.html.
    """
    settings = settings_from(database_url=database_url or DEMO_DATABASE, clock_speed=clock_speed)
    with store_errors(settings.database_url):
        _run_demo(settings, complaints, timeout)


def _run_demo(settings: Settings, complaints: int, timeout: float) -> None:
    _fresh_sqlite(settings.database_url)
    engine = open_database(settings)
    upgrade(engine)
    clock = ScaledClock(settings.clock_speed)
    stop = stop_on_signals()
    topics = Topics(settings.topic_prefix)
    with broker(settings) as connection:
        worker = build_worker(settings, connection, stop, clock=clock)
        thread = _Captured("complaintflow-worker", worker.run)
        thread.start()
        _wait_until_consuming(worker, thread)
        desk_stop = threading.Event()
        desk_group = f"{topics.prefix}-revisit-desk"
        desk = desk_service(connection, topics, topics.revisits, desk_group, revisit_desk(clock))
        desk_thread = _Captured("revisit-desk", partial(desk.run, desk_stop))
        desk_thread.start()
        # the day starts once the worker consumes: joining the group takes seconds, hours on
        # this clock, and events published before would all be decided late in one batch
        lines = sample_day(
            complaints=complaints,
            start=clock.now().astimezone(SHANGHAI),
            scripted_revisits=False,
        )
        inputs = _inputs(lines)
        with _progress() as progress:
            publishing = progress.add_task("publishing the day as it happens", total=len(lines))
            processing = progress.add_task("engine processing", total=len(set(inputs)))
            with complaint_publisher(connection, settings) as publisher:
                for (key, at, _), line in zip(inputs, lines, strict=True):
                    while at is not None and clock.now() < at and not stop.is_set():
                        time.sleep(0.02)
                        progress.update(processing, completed=_processed(engine, inputs))
                    publisher.publish_raw(key, line)
                    publisher.flush()
                    progress.advance(publishing)
            summary = _wait_for_engine(engine, inputs, thread, stop, timeout, progress, processing)
            parts = (thread, desk_thread)
            desk_figures = _wait_for_revisits(engine, parts, stop, timeout, progress)
        stop.set()
        desk_stop.set()
        thread.join(timeout=30)
        desk_thread.join(timeout=30)
    for part in (thread, desk_thread):
        if part.error is not None:
            raise part.error
    _print_summary(summary, published=len(lines))
    _print_desk(desk_figures)
    demo_report(engine, load_workflow(settings.workflow), DEMO_REPORT)


Input = tuple[bytes | None, datetime | None, str]


def _inputs(lines: list[bytes]) -> list[Input]:
    """(key, event time, inbox key) per line: undecodable lines are keyed by position."""
    inputs: list[Input] = []
    for number, line in enumerate(lines):
        event = decode_event(line)
        if isinstance(event, Refusal):
            inputs.append((None, None, f"line {number}"))
        else:
            inputs.append((event.complaint_id.encode(), event.occurred_at, str(event.event_id)))
    return inputs


def _processed(engine: Engine, inputs: list[Input]) -> int:
    """Published events the engine has processed (undecodable lines count once each)."""
    event_ids = {key for _, at, key in inputs if at is not None}
    undecodable = sum(1 for _, at, _ in inputs if at is None)
    return processed_inputs(engine, event_ids, undecodable)


def _fresh_sqlite(url: str) -> None:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm", ".worker-lock"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _wait_for_engine(
    engine: Engine,
    inputs: list[Input],
    thread: _Captured,
    stop: threading.Event,
    timeout: float,
    progress: Progress,
    task: TaskID,
) -> StoreSummary:
    """Wait (with a deadline) until every input is processed and the outbox has drained."""
    deadline = time.monotonic() + timeout
    expected = len({key for _, _, key in inputs})
    while True:
        summary = summarize(engine)
        processed = _processed(engine, inputs)
        progress.update(task, completed=processed)
        if processed >= expected and summary.outbox_backlog == 0:
            return summary
        if thread.error is not None or not thread.is_alive() or stop.is_set():
            return summary
        if time.monotonic() > deadline:
            raise ComplaintflowError(
                f"demo: the engine processed {processed} of {expected} inputs in {timeout:.0f} s"
            )
        time.sleep(0.2)


def _wait_for_revisits(
    engine: Engine,
    threads: tuple[_Captured, ...],
    stop: threading.Event,
    timeout: float,
    progress: Progress,
) -> DeskSummary:
    """After the day's events: until every revisit request has come due and its answer has
    been processed (the clock runs on, so the last resolutions' requests come due within
    seconds of wall time)."""
    task = progress.add_task("revisit requests answered", total=None)
    deadline = time.monotonic() + timeout
    while True:
        figures = desk_summary(engine, REVISIT_DESK)
        replies = [str(reply_id(request)) for request in figures.revisit_requests]
        answered = processed_inputs(engine, replies, 0)
        progress.update(task, completed=answered, total=len(replies))
        if (
            figures.requests_pending == 0
            and answered == len(replies)
            and summarize(engine).outbox_backlog == 0
        ):
            return figures
        if stop.is_set() or any(t.error is not None or not t.is_alive() for t in threads):
            return figures
        if time.monotonic() > deadline:
            raise ComplaintflowError(
                f"demo: {answered} of {len(replies)} revisit requests answered in {timeout:.0f} s"
            )
        time.sleep(0.2)


def _print_desk(figures: DeskSummary) -> None:
    keywords = ", ".join(f"{term} {n}" for term, n in figures.graded_by_keyword.items())
    console.print(
        f"revisit requests sent {len(figures.revisit_requests)}, answered "
        f"{figures.revisit_answers} ({figures.customers_reached} customers reached); "
        f"words that added points: {figures.keyword_complaints} complaints"
        + (f" ({keywords})" if keywords else ""),
        highlight=False,
    )


def _print_summary(summary: StoreSummary, published: int) -> None:
    table = Table(title="complaints by state")
    table.add_column("state")
    table.add_column("complaints", justify="right")
    for state, count in sorted(summary.by_state.items()):
        table.add_row(state, str(count))
    console.print(table)
    refused = summary.inbox.get("refused", 0)
    console.print(
        f"published {published} messages; applied {summary.inbox.get('applied', 0)}, "
        f"dead-lettered {refused} (complaints.dlq), merged {summary.merged} cross-channel "
        f"duplicates; event log: {summary.history_rows} entries, {summary.breaches} SLA breaches, "
        f"{summary.escalations} escalations",
        highlight=False,
    )
