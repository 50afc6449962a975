"""What a database failure is shown as: one short line, the URL's password never in it, and a
URL whose password would be cut in two refused before any driver sees it."""

import pytest
from sqlalchemy import event
from sqlalchemy.exc import DatabaseError, OperationalError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from complaintflow.engine.errors import StoreUnavailable
from complaintflow.engine.redaction import error_line, secrets_of
from complaintflow.engine.settings import Settings
from complaintflow.state_store.database import (
    open_engine,
    passwords_in,
    redacted,
    store_errors,
    store_failure,
)

URL = "postgresql+psycopg://cf:S3cretPw@db.example:5432/complaints"


def test_a_driver_failure_is_its_first_line_without_the_password() -> None:
    refused = Exception(
        'connection to server at "db.example" failed: password S3cretPw rejected\n'
        "\tIs the server running on that host and accepting TCP/IP connections?"
    )
    failure = store_failure(OperationalError("SELECT 1", {}, refused), URL)
    assert failure == (
        'database unreachable: connection to server at "db.example" failed: password *** rejected'
    )


def test_a_failure_that_is_not_about_reaching_the_database_says_so() -> None:
    garbage = DatabaseError("SELECT 1", {}, Exception("file is not a database"))
    assert store_failure(garbage, "sqlite:///x.db") == "database error: file is not a database"


def test_sqlalchemys_own_errors_lose_their_sql_and_link() -> None:
    statement = StatementError("date value out of range", "SELECT :p", {"p": 1}, OverflowError())
    assert store_failure(statement, URL) == "database error: date value out of range"
    waited = PoolTimeout("QueuePool limit of size 5 overflow 0 reached")
    assert store_failure(waited, URL) == (
        "database unreachable: QueuePool limit of size 5 overflow 0 reached"
    )


def test_a_long_driver_message_is_cut() -> None:
    failure = store_failure(OperationalError("SELECT 1", {}, Exception("x" * 10_000)), URL)
    assert len(failure) < 200 and failure.endswith("…")


def test_store_errors_turns_driver_errors_into_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable) as refused, store_errors(URL):
        raise OperationalError("SELECT 1", {}, Exception("gone"))
    assert str(refused.value) == "database unreachable: gone"


def test_only_the_first_line_of_a_store_failure_is_shown() -> None:
    # a driver's DETAIL line may quote a stored value (a customer's id in a key)
    detail = StoreUnavailable(
        "database unreachable: duplicate key\nDETAIL: Key (customer_id)=(U1) exists"
    )
    assert error_line(detail) == "database unreachable: duplicate key"
    assert error_line(ValueError("a\n  b")) == "a b"


@pytest.mark.parametrize(
    ("url", "hidden"),
    [
        (URL, ["S3cretPw"]),
        ("postgresql+psycopg://cf:p%40ss@h/db", ["p%40ss", "p@ss"]),
        ("postgresql+psycopg://cf:Half-One@Half-Two@h/db", ["Half-One@Half-Two", "Half-One"]),
        ("postgresql+psycopg://cf:S3cretPw@[::1/db", ["S3cretPw"]),
    ],
)
def test_every_spelling_of_the_password_is_known_and_hidden(url: str, hidden: list[str]) -> None:
    assert set(passwords_in(url)) == set(hidden)
    assert set(hidden) <= set(secrets_of(Settings(database_url=url)))
    shown = redacted(url)
    assert "***" in shown
    assert not any(part in shown for part in ("S3cretPw", "p%40ss", "Half-One", "Half-Two"))


def test_a_bare_at_sign_in_the_password_is_refused_before_connecting() -> None:
    with pytest.raises(StoreUnavailable) as refused:
        open_engine("postgresql+psycopg://cf:Half-One@Half-Two@127.0.0.1:1/db")
    assert str(refused.value) == (
        "bad database URL 'postgresql+psycopg://cf:***@127.0.0.1:1/db': an @ in the user name "
        "or password is written %40"
    )


class _NotConnecting(Exception):
    pass


def _connect_timeout(url: str) -> object:
    """The connect_timeout the driver would be called with (it is not called)."""
    engine, given = open_engine(url), {}

    @event.listens_for(engine, "do_connect")
    def capture(_dialect: object, _record: object, _args: object, kwargs: dict) -> None:
        given.update(kwargs)
        raise _NotConnecting

    with pytest.raises(_NotConnecting):
        engine.connect()
    return given.get("connect_timeout")


def test_a_postgresql_connection_gives_up_after_seconds_unless_the_url_says() -> None:
    assert _connect_timeout(URL) == 10
    assert _connect_timeout(URL + "?connect_timeout=3") == "3"


def test_a_sized_pool_holds_exactly_that_many_connections() -> None:
    for url in (URL, "sqlite:////tmp/complaintflow-unit.db"):
        pool = open_engine(url, connections=6).pool
        assert (pool.size(), pool._max_overflow) == (6, 0)  # type: ignore[attr-defined]
