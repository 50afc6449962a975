"""SQLite has one writer: a second worker on the same file is told so at start."""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from complaintflow.engine.errors import StoreUnavailable
from complaintflow.state_store.database import is_sqlite


@contextmanager
def sqlite_single_writer(engine: Engine) -> Iterator[None]:
    """Hold an exclusive lock beside a SQLite file for the worker's lifetime: a second worker
    is told to use PostgreSQL instead of failing later with "database is locked"."""
    database = engine.url.database
    if not is_sqlite(engine) or not database or database == ":memory:":
        yield
        return
    lock_path = Path(f"{database}.worker-lock")
    handle: IO[str] = lock_path.open("w")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreUnavailable(
                f"another worker is already running on SQLite database {database}; SQLite is "
                "single-writer: run several workers against PostgreSQL "
                "(--database-url postgresql+psycopg://user:password@host/dbname)"
            ) from None
        yield
    finally:
        handle.close()
