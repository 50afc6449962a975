"""Every contract test runs on the in-memory fake, SQLite and PostgreSQL: what the real
adapters guarantee and the fake claims is checked on all three alike."""

from collections.abc import Iterator

import pytest

from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.service.trend_watch import HANDLED_STATES
from complaintflow.state_store.database import open_engine
from tests.support.backends import Backend, fake_backend, sql_backend
from tests.support.builders import MONDAY_9


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_9)


@pytest.fixture(params=["fake", "sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest, clock: FixedClock, workflow: Workflow
) -> Iterator[Backend]:
    closed = HANDLED_STATES.union(workflow.definition.final_states)
    if request.param == "fake":
        yield fake_backend(clock, closed)
        return
    engine = open_engine(str(request.getfixturevalue(f"{request.param}_url")))
    try:
        yield sql_backend(engine, clock, closed)
    finally:
        engine.dispose()
