"""Engines for SQLite and PostgreSQL with the settings each needs to be safe here.

SQLite is single-writer: write transactions start with BEGIN IMMEDIATE, because a WAL read
that turns into a write fails with SQLITE_BUSY whatever busy_timeout says.
"""

import re
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from complaintflow.engine.errors import StoreUnavailable

READ_ONLY = {"complaintflow_read_only": True}
_USERINFO_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def redacted(url: str) -> str:
    """The URL as it may be shown: the password hidden, also in a URL SQLAlchemy cannot
    parse (whose mistake may be anywhere but the password)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _USERINFO_PASSWORD.sub(r"\1***@", url)


def open_engine(url: str) -> Engine:
    """An engine for `url`, or one line saying why the URL cannot be used."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StoreUnavailable(
            f"bad database URL {redacted(url)!r}; expected e.g. sqlite:///complaintflow.db or "
            "postgresql+psycopg://user:password@host/dbname"
        ) from None
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite(url)
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise StoreUnavailable(
            f"database URL {redacted(url)!r}: unsupported driver ({exc})"
        ) from None


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite(url: str) -> Engine:
    engine = create_engine(url)

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
