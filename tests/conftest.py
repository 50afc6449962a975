import sys
from pathlib import Path

import pytest

from complaintflow.engine.bootstrap import load_workflow
from complaintflow.engine.core.workflow import Workflow

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def workflow() -> Workflow:
    return load_workflow()
