"""Commands that run the engine's processes: run (one worker) and broker (the embedded one)."""

import logging
import os
import signal
import socket
import sys
import threading
from typing import Annotated

import typer

from complaintflow.engine.bootstrap import broker as configured_broker
from complaintflow.engine.bootstrap import build_worker, load_workflow, open_store
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.embedded_broker import (
    create_topics,
    free_port,
    start_tansu,
    wait_until_ready,
)
from complaintflow.engine.entrypoints.cli.app import (
    BootstrapOption,
    ClockSpeedOption,
    DatabaseOption,
    GroupOption,
    PrefixOption,
    WorkflowOption,
    app,
    console,
    settings_from,
)
from complaintflow.engine.errors import ComplaintflowError
from complaintflow.engine.redaction import RedactSecrets, secrets_of
from complaintflow.engine.settings import Settings
from complaintflow.state_store.database import redacted, store_errors

log = logging.getLogger(__name__)


def configure_logging(settings: Settings) -> None:
    """One line per record on stderr, for whatever collects a service's output, with the
    settings' secrets hidden; the Kafka client's connection chatter, the scheduler's every
    run and the migration check only from warnings up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets_of(settings)))
    logging.basicConfig(level=settings.log_level, handlers=[handler])
    level = logging.getLevelName(settings.log_level)
    for chatty in ("kafka", "apscheduler", "alembic"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, level))


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def stop_on_signals() -> threading.Event:
    """SIGINT or SIGTERM sets the returned event: the worker finishes the batch in hand,
    commits it, publishes its outbox for a while and leaves its group. A second one ends the
    process at once (status 128 + the signal), losing nothing: what was not committed is
    redelivered to the next worker, and the inbox absorbs what was.

    The count is kept by a thread reading the wakeup socket, to which the interpreter's
    C-level handler writes each signal's number as it arrives: a Python handler runs only
    when the main thread is back in Python, which a driver call (SQLite waiting for its
    lock, a connection timing out) can put off for many seconds."""
    stop = threading.Event()
    received, wakeup = socket.socketpair()
    wakeup.setblocking(False)
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda *_: stop.set())
    signal.set_wakeup_fd(wakeup.fileno(), warn_on_full_buffer=False)
    watcher = threading.Thread(  # holds the sockets: the wakeup one must stay open
        target=_stop_then_exit, args=(received, wakeup, stop), name="stop-signals", daemon=True
    )
    watcher.start()
    return stop


def _stop_then_exit(received: socket.socket, _wakeup: socket.socket, stop: threading.Event) -> None:
    signals = 0
    while True:
        for signum in received.recv(64):
            if signum not in STOP_SIGNALS:
                continue
            signals += 1
            if signals == 1:
                stop.set()
                name = signal.Signals(signum).name
                log.info("%s: stopping after the batch in hand (again: at once)", name)
                continue
            os.write(2, b"complaintflow: stopped at once; what was not committed is redelivered\n")
            os._exit(128 + signum)


@app.command()
def run(
    bootstrap_servers: BootstrapOption = None,
    database_url: DatabaseOption = None,
    topic_prefix: PrefixOption = None,
    workflow: WorkflowOption = None,
    group_id: GroupOption = None,
    clock_speed: ClockSpeedOption = None,
) -> None:
    """One engine worker: consumer loop and outbox relay, until SIGINT/SIGTERM."""
    settings = settings_from(
        bootstrap_servers=bootstrap_servers,
        database_url=database_url,
        topic_prefix=topic_prefix,
        workflow=workflow,
        group_id=group_id,
        clock_speed=clock_speed,
    )
    stop = stop_on_signals()
    configure_logging(settings)
    # a bad workflow file, database URL or schema is said before any broker starts
    load_workflow(settings.workflow)
    open_store(settings).dispose()
    database = redacted(settings.database_url)
    with configured_broker(settings) as connection, store_errors(settings.database_url):
        console.print(
            f"worker on {connection.bootstrap_servers}, database {database}", highlight=False
        )
        build_worker(settings, connection, stop).run()


@app.command()
def broker(
    port: Annotated[
        int | None, typer.Option(help="Port on 127.0.0.1 (default: a free one).")
    ] = None,
    topic_prefix: PrefixOption = None,
) -> None:
    """Run the embedded broker (Tansu, memory-only) in the foreground, topics created."""
    settings = settings_from(topic_prefix=topic_prefix)
    port = port or free_port()
    process = start_tansu(port)
    bootstrap = f"127.0.0.1:{port}"
    stop = stop_on_signals()
    try:
        wait_until_ready(bootstrap, process)
        create_topics(bootstrap, Topics(settings.topic_prefix))
        console.print(
            f"broker ready: export COMPLAINTFLOW_BOOTSTRAP_SERVERS={bootstrap}", highlight=False
        )
        while not stop.wait(0.5):
            if process.poll() is not None:
                raise ComplaintflowError(f"broker exited with status {process.returncode}")
    finally:
        process.terminate()
        process.wait(timeout=10)
