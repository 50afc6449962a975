import pytest

from complaintflow.engine.bootstrap import load_workflow
from complaintflow.engine.core.workflow import Workflow

# the broker, SQLite and PostgreSQL fixtures, shared by contract, integration and fault tests
pytest_plugins = ["tests.support.real_parts"]


@pytest.fixture(scope="session")
def workflow() -> Workflow:
    return load_workflow()
