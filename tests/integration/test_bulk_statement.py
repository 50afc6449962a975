"""BulkStatement hands the driver what SQLAlchemy's own execution would: the stored values
are compared raw (read without type processing), on SQLite and on a real PostgreSQL."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, Table, bindparam, event, insert, select, update
from sqlalchemy.sql.expression import UpdateBase

from complaintflow.state_store.bulk import BulkStatement
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.tables import complaints_t, history_t, outbox_t

# a local time with an offset, on the day Berlin's clocks go forward
BERLIN = datetime(2025, 3, 30, 3, 30, 0, 123456, tzinfo=ZoneInfo("Europe/Berlin"))


def raw_rows(connection: Connection, table: Table, key: str) -> dict[Any, tuple[Any, ...]]:
    """Rows as the driver returns them, keyed by `key`, without it and without an id."""
    names = [c.name for c in table.c if c.name not in (key, "id")]
    sql = str(select(table.c[key], *(table.c[n] for n in names)).compile(connection))
    return {first: tuple(rest) for first, *rest in connection.exec_driver_sql(sql)}


def history_row(complaint_id: str) -> dict[str, Any]:
    return {
        "complaint_id": complaint_id,
        "version": 3,
        "event_id": "0b0c9f9e-5d0a-4c55-9f43-2d6f3f0d9a11",
        "type": "department.replied",
        "state": "collaboration",
        "occurred_at": BERLIN,
        "source": "dept-logistics",
        "payload": {"outcome": "accepted", "note": "Zustellung übermorgen", "cost": 12.5},
        "recorded_at": BERLIN.astimezone(ZoneInfo("UTC")),
    }


def outbox_row(topic: str) -> dict[str, Any]:
    return {
        "partition": 2,
        "topic": topic,
        "key": None,
        "value": b'{"a": "\\u00fc"}\x00\xff',
        "created_at": BERLIN,
        "sent_at": None,
    }


OUTBOX_INSERT = insert(outbox_t).values(
    {c.name: bindparam(c.name) for c in outbox_t.c if c.name != "id"}
)


@pytest.mark.parametrize(
    ("statement", "row"),
    [(insert(history_t), history_row), (OUTBOX_INSERT, outbox_row)],
    ids=["history", "outbox"],
)
def test_the_driver_gets_the_statement_and_parameters_sqlalchemy_sends(
    database_url: str, statement: UpdateBase, row: Any
) -> None:
    engine = open_engine(database_url)
    sent: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        _connection, _cursor, sql, parameters, _context, _executemany = args
        if sql.startswith("INSERT"):
            sent.append((sql, comparable(parameters)))

    rows = [row("a"), row("b")]
    with engine.connect() as connection:
        event.listen(connection, "before_cursor_execute", capture)
        connection.execute(statement, rows)
        connection.rollback()
        BulkStatement(statement).execute(connection, rows)
        connection.rollback()
    (by_sqlalchemy, by_bulk) = sent
    assert by_bulk == by_sqlalchemy


def comparable(parameters: Any) -> Any:
    """Driver parameters with binary wrappers (psycopg's Binary compares by identity) as bytes."""
    if isinstance(parameters, list | tuple):
        return [comparable(p) for p in parameters]
    if isinstance(parameters, dict):
        return {k: comparable(v) for k, v in parameters.items()}
    if isinstance(parameters, memoryview):
        return parameters.tobytes()
    return getattr(parameters, "obj", parameters)


def test_expanding_parameters_are_refused_before_reaching_the_driver(database_url: str) -> None:
    statement = update(outbox_t).where(outbox_t.c.id.in_([1, 2])).values(sent_at=BERLIN)
    with open_engine(database_url).connect() as connection:
        with pytest.raises(ValueError, match="expanding"):
            BulkStatement(statement).execute(connection, [{}])
        assert BulkStatement(statement).execute(connection, []) == 0


def test_inserted_rows_are_stored_as_sqlalchemy_stores_them(database_url: str) -> None:
    engine = open_engine(database_url)
    outbox_insert = OUTBOX_INSERT
    with engine.begin() as connection:
        connection.execute(insert(history_t), [history_row("via-sqlalchemy")])
        BulkStatement(insert(history_t)).execute(connection, [history_row("via-bulk")])
        connection.execute(outbox_insert, [outbox_row("via-sqlalchemy")])
        BulkStatement(outbox_insert).execute(connection, [outbox_row("via-bulk")])

        history = raw_rows(connection, history_t, "complaint_id")
        outbox = raw_rows(connection, outbox_t, "topic")
    assert history["via-bulk"] == history["via-sqlalchemy"]
    assert outbox["via-bulk"] == outbox["via-sqlalchemy"]


def test_an_update_counts_the_rows_it_changed_across_all_parameter_sets(
    database_url: str,
) -> None:
    engine = open_engine(database_url)
    columns = {
        "state": "graded",
        "version": 2,
        "workflow_version": 1,
        "priority": "P2",
        "department": "customer_service",
        "escalation_level": None,
        "category": "delivery",
        "channels": "web",
        "customer_id": "U1",
        "order_id": None,
        "received_at": BERLIN,
        "first_response_at": None,
        "resolved_at": None,
        "overdue": True,
        "reopen_count": 0,
        "aggregate": "{}",
        "updated_at": BERLIN,
    }
    bump = BulkStatement(
        update(complaints_t)
        .where(
            complaints_t.c.complaint_id == bindparam("expected_id"),
            complaints_t.c.version == bindparam("expected_version"),
        )
        .values(version=bindparam("new_version"), overdue=bindparam("new_overdue"))
    )
    with engine.begin() as connection:
        connection.execute(
            insert(complaints_t),
            [{**columns, "complaint_id": cid} for cid in ("C-1", "C-2", "C-3")],
        )
        changed = bump.execute(
            connection,
            [
                {
                    "expected_id": cid,
                    "expected_version": seen,
                    "new_version": 3,
                    "new_overdue": False,
                }
                for cid, seen in (("C-1", 2), ("C-2", 1), ("C-3", 2))
            ],
        )
        stored = {
            cid: version
            for cid, version in connection.execute(
                select(complaints_t.c.complaint_id, complaints_t.c.version)
            )
        }
        overdue = connection.scalar(
            select(complaints_t.c.overdue).where(complaints_t.c.complaint_id == "C-1")
        )
    assert changed == 2
    assert stored == {"C-1": 3, "C-2": 2, "C-3": 3}
    assert overdue is False
