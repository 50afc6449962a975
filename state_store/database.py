"""Engines for SQLite and PostgreSQL with the settings each needs to be safe here, and the
translation of what a driver raises into one line that never shows the URL's password.

SQLite is single-writer: write transactions start with BEGIN IMMEDIATE, because a WAL read
that turns into a write fails with SQLITE_BUSY whatever busy_timeout says.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from complaintflow.engine.errors import StoreUnavailable

READ_ONLY = {"complaintflow_read_only": True}
CONNECT_TIMEOUT_S = 10
REASON_CHARS = 160
# user:password@ as written, up to the last @ before the path: a password with a bare @ in
# it is cut by SQLAlchemy at its first @, the rest taken for the host
_USERINFO_PASSWORD = re.compile(r"(://[^:/@]*:)[^/]*@")
_WRITTEN_PASSWORD = re.compile(r"://[^:/@]*:([^/]*)@")
_BACKGROUND = re.compile(r"\s*\(Background on this error at: [^)]*\)")


def redacted(url: str) -> str:
    """The URL as it may be shown: the password hidden, also in a URL SQLAlchemy cannot
    parse (whose mistake may be anywhere but the password) or parses wrongly (a bare @ in
    the password)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return _USERINFO_PASSWORD.sub(r"\1***@", url)
    if "@" in (parsed.host or ""):
        return _USERINFO_PASSWORD.sub(r"\1***@", url)
    return parsed.render_as_string(hide_password=True)


def passwords_in(url: str) -> list[str]:
    """The URL's password as the driver gets it (percent-decoded) and as it is written."""
    found = set()
    try:
        parsed = make_url(url).password
    except (ArgumentError, ValueError):
        parsed = None
    if parsed:
        found.add(str(parsed))
    written = _WRITTEN_PASSWORD.search(url)
    if written and written.group(1):
        found.add(written.group(1))
    return sorted(found, key=len, reverse=True)


def open_engine(url: str, connections: int | None = None) -> Engine:
    """An engine for `url`, or one line saying why the URL cannot be used. With
    `connections`, the pool holds exactly that many (a caller that bounds its own
    concurrency to them never waits on the pool); else SQLAlchemy's pool as configured."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StoreUnavailable(
            f"bad database URL {redacted(url)!r}; expected e.g. sqlite:///complaintflow.db or "
            "postgresql+psycopg://user:password@host/dbname"
        ) from None
    if "@" in (parsed.host or ""):
        raise StoreUnavailable(
            f"bad database URL {redacted(url)!r}: an @ in the user name or password is written %40"
        )
    try:
        if parsed.get_backend_name() == "sqlite":
            in_memory = parsed.database in (None, "", ":memory:")
            return _sqlite(url, {} if in_memory else _pool(connections))
        return create_engine(
            url,
            pool_pre_ping=True,
            connect_args=_connect_args(parsed),
            **_pool(connections, pool_size=5, max_overflow=5),
        )
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise StoreUnavailable(
            f"database URL {redacted(url)!r}: unsupported driver ({exc})"
        ) from None


def _pool(connections: int | None, **default: int) -> dict[str, int]:
    return default if connections is None else {"pool_size": connections, "max_overflow": 0}


def _connect_args(url: URL) -> dict[str, Any]:
    """A PostgreSQL host that drops packets is unreachable after seconds, not after the
    kernel's two minutes of retries; a connect_timeout in the URL wins."""
    psycopg = url.get_backend_name() == "postgresql" and url.get_driver_name().startswith("psycopg")
    if psycopg and "connect_timeout" not in url.query:
        return {"connect_timeout": CONNECT_TIMEOUT_S}
    return {}


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def store_failure(exc: SQLAlchemyError, url: str) -> str:
    """What went wrong with the database, in one short line: the driver's first line (not its
    hints, the SQL or SQLAlchemy's link), the URL's password hidden."""
    cause: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    lines = _BACKGROUND.sub("", str(cause)).strip().splitlines()
    reason = lines[0].strip() if lines else type(cause).__name__
    for password in passwords_in(url):
        reason = reason.replace(password, "***")
    if len(reason) > REASON_CHARS:
        reason = reason[: REASON_CHARS - 1] + "…"
    unreachable = isinstance(exc, OperationalError | InterfaceError | PoolTimeout)
    return f"database {'unreachable' if unreachable else 'error'}: {reason}"


@contextmanager
def store_errors(url: str) -> Iterator[None]:
    """Whatever the driver raises inside becomes `StoreUnavailable`, one line (see
    `store_failure`): a command's edge, where a traceback would be a bug."""
    try:
        yield
    except DBAPIError as exc:
        raise StoreUnavailable(store_failure(exc, url)) from None


def _sqlite(url: str, pool: dict[str, Any]) -> Engine:
    engine = create_engine(url, **pool)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA busy_timeout=30000",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get("complaintflow_read_only")
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
