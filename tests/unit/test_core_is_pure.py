"""The pure core stays pure: importing every module of engine/core loads no database, broker,
scheduler, web or CLI library, and none of complaintflow's adapters.

The imports run in a fresh interpreter, since this one has loaded everything already: the
one test under tests/unit that starts a process (about a second, and nothing else needed).
"""

import json
import subprocess
import sys

FORBIDDEN = {"sqlalchemy", "kafka", "apscheduler", "fastapi", "uvicorn", "typer", "rich"}
ADAPTERS = (
    "complaintflow.state_store",
    "complaintflow.consumers",
    "complaintflow.producers",
    "complaintflow.engine.service",
    "complaintflow.engine.entrypoints",
    "complaintflow.engine.bootstrap",
)

IMPORT_THE_CORE = """
import importlib, json, pkgutil, sys
import complaintflow.engine.core as core
names = [m.name for m in pkgutil.iter_modules(core.__path__, core.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"core": names, "loaded": sorted(sys.modules)}))
"""


def test_importing_the_core_loads_no_io_library_and_no_adapter() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_THE_CORE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert "complaintflow.engine.core.decision" in found["core"], "no core module was imported"
    loaded = found["loaded"]
    assert sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN) == []
    assert sorted(m for m in loaded if m.startswith(ADAPTERS)) == []
