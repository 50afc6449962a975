import sys
from pathlib import Path

import pytest

from complaintflow.engine.core.workflow import Workflow, load_workflow

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def workflow() -> Workflow:
    return load_workflow()
