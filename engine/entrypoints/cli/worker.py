"""Commands that run the engine's processes: run (one worker) and broker (the embedded one)."""

import logging
import signal
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


def stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


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
