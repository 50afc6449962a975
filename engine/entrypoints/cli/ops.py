"""Commands for operators: publish, tail, timeline, db upgrade."""

import json
from pathlib import Path
from typing import Annotated

import typer
from kafka import TopicPartition
from rich.table import Table

from complaintflow.engine.bootstrap import (
    complaint_publisher,
    kafka_consumer,
    open_database,
    open_store,
    require_kafka,
)
from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.entrypoints.cli.app import (
    BootstrapOption,
    DatabaseOption,
    PrefixOption,
    app,
    console,
    db_app,
    errors,
    read_lines,
    settings_from,
)
from complaintflow.engine.errors import BrokerUnavailable, ComplaintNotFound
from complaintflow.engine.redaction import abridged
from complaintflow.state_store.database import redacted, store_errors
from complaintflow.state_store.history import complaint_history
from complaintflow.state_store.schema import upgrade


@app.command()
def publish(
    file: Annotated[Path, typer.Argument(help="JSON-lines file of event envelopes.")],
    bootstrap_servers: BootstrapOption = None,
    topic_prefix: PrefixOption = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Send every line as is, valid or not.")
    ] = False,
) -> None:
    """Publish a JSON-lines file of envelopes to complaints.inbound (key = complaint_id).

    Lines that fail the contract are reported and skipped (exit status 1), unless --raw.
    """
    settings = settings_from(bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix)
    connection = require_kafka(settings)
    lines = read_lines(file)
    bad = 0
    sent = 0
    with complaint_publisher(connection, settings) as publisher:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            event = decode_event(line)
            if isinstance(event, Refusal) and not raw:
                bad += 1
                errors.print(
                    f"{file}:{number}: skipped: {event.reason}", highlight=False, soft_wrap=True
                )
                continue
            key = None if isinstance(event, Refusal) else event.complaint_id.encode()
            publisher.publish_raw(key, line)
            sent += 1
    console.print(f"published {sent} events to {Topics(settings.topic_prefix).inbound}")
    if bad:
        raise typer.Exit(1)


@app.command()
def tail(
    bootstrap_servers: BootstrapOption = None,
    topic_prefix: PrefixOption = None,
    from_beginning: Annotated[bool, typer.Option(help="Start at the oldest entry.")] = False,
    limit: Annotated[int | None, typer.Option(help="Stop after this many entries.")] = None,
) -> None:
    """Follow complaints.events: time, complaint, version, type, state."""
    settings = settings_from(bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix)
    connection = require_kafka(settings)
    topic = Topics(settings.topic_prefix).events
    consumer = kafka_consumer(connection)
    partitions = [
        TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])
    ]
    if not partitions:
        raise BrokerUnavailable(f"topic {topic} does not exist on {connection.bootstrap_servers}")
    consumer.assign(partitions)
    if from_beginning:
        consumer.seek_to_beginning()
    else:
        consumer.seek_to_end()
    shown = 0
    try:
        while limit is None or shown < limit:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    _print_entry(record.value)
                    shown += 1
    finally:
        consumer.close(autocommit=False)


def _print_entry(value: bytes) -> None:
    try:
        entry = json.loads(value)
        console.print(
            f"{entry['occurred_at']}  {entry['complaint_id']:<20} v{entry['version']:<3} "
            f"[bold]{entry['type']:<24}[/] {entry['state']}",
            highlight=False,
        )
    except (ValueError, KeyError, TypeError):
        console.print(f"[red]unreadable entry[/] {value[:120]!r}", highlight=False)


@app.command()
def timeline(
    complaint_id: Annotated[str, typer.Argument(help="Complaint id (a merged id works too).")],
    database_url: DatabaseOption = None,
) -> None:
    """One complaint's history from the store, version by version."""
    settings = settings_from(database_url=database_url)
    with store_errors(settings.database_url):
        rows = complaint_history(open_store(settings), complaint_id)
    if not rows:
        database = redacted(settings.database_url)
        raise ComplaintNotFound(f"complaint {abridged(complaint_id)} not found in {database}")
    table = Table(title=f"Complaint {rows[0].complaint_id}")
    for column in ("v", "occurred_at", "type", "state", "source", "payload"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row.version),
            row.occurred_at.isoformat(),
            row.type,
            row.state,
            row.source,
            json.dumps(row.payload, ensure_ascii=False),
        )
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOption = None) -> None:
    """Migrate the database to the newest schema (Alembic head)."""
    settings = settings_from(database_url=database_url)
    with store_errors(settings.database_url):
        revision = upgrade(open_database(settings))
    console.print(f"database at revision {revision}")
