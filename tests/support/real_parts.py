"""Real parts for the contract, integration and fault tests: a Tansu broker process, an
Apache Kafka broker (scripts/apache-kafka), SQLite files and a PostgreSQL server started by
pytest-postgresql, as fixtures (registered by tests/conftest.py). A missing part fails the run;
it is never skipped."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_postgresql.executors.proc import PostgreSQLExecutor

from complaintflow.engine.core.topics import Topics
from complaintflow.engine.embedded_broker import (
    create_topics,
    free_port,
    start_tansu,
    wait_until_ready,
)
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.schema import upgrade
from tests.support.apache_kafka import start_apache_kafka
from tests.support.postgres_server import fresh_database, postgres_server


@pytest.fixture(scope="session")
def tansu() -> Iterator[str]:
    """The embedded default: Tansu, memory-only."""
    port = free_port()
    process = start_tansu(port)
    bootstrap = f"127.0.0.1:{port}"
    try:
        wait_until_ready(bootstrap, process)
        yield bootstrap
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def apache_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Apache Kafka 4.x broker, PLAINTEXT."""
    cluster = start_apache_kafka(tmp_path_factory.mktemp("apache-kafka") / "home")
    try:
        yield cluster.bootstrap
    finally:
        cluster.stop()


@pytest.fixture(scope="session", params=["tansu", "apache"])
def broker(request: pytest.FixtureRequest) -> str:
    """Every test that claims Kafka behaviour runs on both brokers."""
    return str(request.getfixturevalue("apache_kafka" if request.param == "apache" else "tansu"))


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
    with postgres_server() as server:
        yield server


@pytest.fixture
def postgresql_url(postgresql_server: PostgreSQLExecutor) -> Iterator[str]:
    """A fresh, migrated database on the session's server."""
    with fresh_database(postgresql_server) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """The same tests on both backends."""
    name = "sqlite_url" if request.param == "sqlite" else "postgresql_url"
    return str(request.getfixturevalue(name))
