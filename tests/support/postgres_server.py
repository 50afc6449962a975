"""A throwaway PostgreSQL server from Debian's binaries (pytest-postgresql's executor), for
the integration tests and the benchmarks alike. As root, `pg_ctl` here runs the real one as
the `postgres` user, since PostgreSQL refuses to run as root."""

import os
import pwd
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_postgresql.executors.proc import PostgreSQLExecutor
from pytest_postgresql.janitor import DatabaseJanitor

from complaintflow.engine.embedded_broker import free_port
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.schema import upgrade

PG_CTL = Path(__file__).parent / "pg_ctl"


@contextmanager
def postgres_server(options: str = "") -> Iterator[PostgreSQLExecutor]:
    """Started and waited for; stopped and its data directory removed on exit. fsync is off:
    these servers hold nothing worth a power cut. `options` adds `-c name=value` settings."""
    workdir = Path(tempfile.mkdtemp(prefix="complaintflow-pg-"))
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        os.chown(workdir, postgres.pw_uid, postgres.pw_gid)
    executor = PostgreSQLExecutor(
        executable=str(PG_CTL),
        host="127.0.0.1",
        port=free_port(),
        datadir=str(workdir / "data"),
        unixsocketdir=str(workdir),
        logfile=str(workdir / "postgresql.log"),
        startparams="-w",
        dbname="complaintflow",
        user="postgres",
        postgres_options="-c fsync=off -c synchronous_commit=off -c max_connections=200 " + options,
    )
    executor.start()
    try:
        yield executor
    finally:
        executor.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def fresh_database(server: PostgreSQLExecutor) -> Iterator[str]:
    """A new database on `server`, migrated to head; its SQLAlchemy URL. Dropped on exit."""
    dbname = f"cf_{uuid.uuid4().hex[:12]}"
    janitor = DatabaseJanitor(user=server.user, host=server.host, port=server.port, dbname=dbname)
    janitor.init()
    url = f"postgresql+psycopg://{server.user}@{server.host}:{server.port}/{dbname}"
    engine = open_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        janitor.drop()
