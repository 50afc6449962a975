"""Real parts for integration tests: a Tansu broker process, SQLite files and a PostgreSQL
server started by pytest-postgresql. A missing part fails the run; it is never skipped."""

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_postgresql.executors.proc import PostgreSQLExecutor
from pytest_postgresql.janitor import DatabaseJanitor

from complaintflow.engine.embedded_broker import (
    create_topics,
    free_port,
    start_tansu,
    wait_until_ready,
)
from complaintflow.engine.topics import Topics
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.schema import upgrade

PG_CTL = Path(__file__).parent.parent / "support" / "pg_ctl"


@pytest.fixture(scope="session")
def broker() -> Iterator[str]:
    port = free_port()
    process = start_tansu(port)
    bootstrap = f"127.0.0.1:{port}"
    try:
        wait_until_ready(bootstrap, process)
        yield bootstrap
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def topics(broker: str) -> Topics:
    """Topics of this test only, so tests sharing the broker cannot see each other."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    t = Topics(prefix)
    create_topics(broker, t, inbound_partitions=4)
    return t


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'complaintflow.db'}"
    upgrade(open_engine(url))
    return url


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgreSQLExecutor]:
    workdir = Path(tempfile.mkdtemp(prefix="complaintflow-pg-"))
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        os.chown(workdir, postgres.pw_uid, postgres.pw_gid)
    port = free_port()
    executor = PostgreSQLExecutor(
        executable=str(PG_CTL),
        host="127.0.0.1",
        port=port,
        datadir=str(workdir / "data"),
        unixsocketdir=str(workdir),
        logfile=str(workdir / "postgresql.log"),
        startparams="-w",
        dbname="complaintflow",
        user="postgres",
        postgres_options="-c fsync=off -c synchronous_commit=off -c max_connections=200",
    )
    executor.start()
    try:
        yield executor
    finally:
        executor.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def postgresql_url(postgresql_server: PostgreSQLExecutor) -> Iterator[str]:
    """A fresh, migrated database on the session's server."""
    dbname = f"cf_{uuid.uuid4().hex[:12]}"
    server = postgresql_server
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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """The same tests on both backends."""
    name = "sqlite_url" if request.param == "sqlite" else "postgresql_url"
    return str(request.getfixturevalue(name))


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shutil.which("complaintflow") or "complaintflow", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
