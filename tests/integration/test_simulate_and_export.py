"""`complaintflow simulate` and `complaintflow export` as a user runs them: a workflow change
tried on the same events through the real decision function and the report's own KPI code,
and a store's applied events written out so that they can be replayed or simulated."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from complaintflow.engine.core.replay import replay
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.entrypoints.cli.sample_day import sample_day
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.tables import complaints_t
from tests.support.replayed_store import store_replayed

CLI = [sys.executable, "-m", "complaintflow.engine"]
DEFAULT_WORKFLOW = Path(__file__).parents[2] / "workflows" / "default.toml"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def day(tmp_path: Path) -> Path:
    path = tmp_path / "day.jsonl"
    path.write_bytes(b"\n".join(sample_day(complaints=400)) + b"\n")
    return path


@pytest.fixture
def tighter_tech(tmp_path: Path) -> Path:
    """The built-in workflow with the tech department's budget cut from 2 h to 15 min."""
    text = DEFAULT_WORKFLOW.read_text(encoding="utf-8")
    assert 'tech = "2h"' in text
    path = tmp_path / "tighter-tech.toml"
    path.write_text(text.replace('tech = "2h"', 'tech = "15m"', 1), encoding="utf-8")
    return path


def test_a_tighter_tech_budget_shows_more_tech_requests_missed(
    day: Path, tighter_tech: Path
) -> None:
    result = run("simulate", day, "--workflow", tighter_tech, "--format", "json")
    assert result.returncode == 0, result.stderr
    reports = json.loads(result.stdout)
    before, after = reports["baseline"]["departments"], reports["candidate"]["departments"]

    def missed(department: dict[str, Any]) -> float:
        return department["requests"] * (1 - department["within_sla_share"])

    assert before["tech"]["requests"] == after["tech"]["requests"] > 0
    assert missed(after["tech"]) > missed(before["tech"])
    # and nothing else about the departments changed
    assert {k: v for k, v in before.items() if k != "tech"} == {
        k: v for k, v in after.items() if k != "tech"
    }
    # the figures are the report's own: the baseline is `report --format json` of a store
    # that replayed the same day
    assert reports["baseline"]["counts"]["received"] == 400


def test_simulate_as_text_lists_the_figures_that_differ(day: Path, tighter_tech: Path) -> None:
    result = run("simulate", day, "--workflow", tighter_tech)
    assert result.returncode == 0, result.stderr
    assert "departments.tech.within_sla_share" in result.stdout
    assert "departments.logistics" not in result.stdout
    same = run("simulate", day, "--workflow", DEFAULT_WORKFLOW)
    assert "the two workflows give the same report" in same.stdout


def test_simulate_with_a_bad_candidate_is_one_line(day: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n")
    result = run("simulate", day, "--workflow", bad)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_export_writes_the_applied_events_that_replay_back_to_the_same_states(
    database_url: str, tmp_path: Path, workflow: Workflow
) -> None:
    # Given a store holding a replayed day
    lines = sample_day(complaints=150, seed=3)
    store_replayed(database_url, lines, workflow)
    # When it is exported
    path = tmp_path / "exported.jsonl"
    result = run("export", "--database-url", database_url, "--output", path)
    assert result.returncode == 0, result.stderr
    exported = path.read_bytes().splitlines()
    # Then every line is an envelope replay accepts, and replaying them gives every complaint
    # its state in the store (merged second reports are not exported: the surviving
    # complaint's merge is an engine fact)
    again = replay(exported, workflow)
    assert again.refusals == []
    with open_engine(database_url).connect() as c:
        stored = dict(c.execute(select(complaints_t.c.complaint_id, complaints_t.c.state)).all())
    assert {cid: c.state for cid, c in again.complaints.items()} == stored
    # and a period keeps the complaints received in it only
    first_hours = run(
        "export",
        "--database-url",
        database_url,
        "--until",
        "2025-07-15T10:00:00+08:00",
    )
    assert first_hours.returncode == 0, first_hours.stderr
    ids = {json.loads(line)["complaint_id"] for line in first_hours.stdout.splitlines()}
    assert 0 < len(ids) < len(stored)


def test_export_with_a_bad_date_is_one_line() -> None:
    result = run("export", "--since", "yesterday-ish")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--since" in result.stderr
