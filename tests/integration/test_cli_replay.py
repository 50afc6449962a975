"""`complaintflow replay` as a user runs it: the console script in a subprocess."""

import subprocess
import sys
from pathlib import Path

from tests.support.builders import MONDAY_9, raw

CLI = [sys.executable, "-m", "complaintflow.engine"]


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def test_replay_prints_final_states_and_refused_lines_and_goes_on(tmp_path: Path) -> None:
    # Given a file with a good stream, a broken line and an event not allowed in its state
    lines = [
        raw("complaint.received", complaint_id="C-1"),
        b"{broken",
        raw("complaint.archived", complaint_id="C-1"),
        raw("agent.responded", complaint_id="C-1"),
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    # When it is replayed
    result = run("replay", path)
    # Then the complaint's final state is printed, and both refusals with their line numbers
    assert result.returncode == 0, result.stderr
    assert "C-1" in result.stdout and "responded" in result.stdout
    assert "not JSON" in result.stdout
    assert "complaint.archived not allowed in state graded" in result.stdout
    assert "1 complaints, 2 decisions applied" in result.stdout


def test_a_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run("replay", tmp_path / "absent.jsonl")
    assert result.returncode == 2
    assert result.stderr.strip() == f"complaintflow: {tmp_path / 'absent.jsonl'}: no such file"
    assert "Traceback" not in result.stderr


def test_a_directory_and_a_bad_workflow_are_one_line_each(tmp_path: Path) -> None:
    directory = run("replay", tmp_path)
    assert directory.returncode == 2
    assert directory.stderr.count("\n") == 1 and "is a directory" in directory.stderr
    bad = tmp_path / "wf.toml"
    bad.write_text("name = 'x'\n")
    events = tmp_path / "e.jsonl"
    events.write_bytes(raw("complaint.received", at=MONDAY_9))
    workflow = run("replay", events, "--workflow", bad)
    assert workflow.returncode == 2
    assert workflow.stderr.count("\n") == 1 and "Field required" in workflow.stderr


def test_until_fires_the_timers_due_after_the_last_event(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(raw("complaint.received", complaint_id="C-1") + b"\n")
    # Given a complaint received at Monday 09:00 (MONDAY_9) with nobody answering
    quiet = run("replay", path, "--summary")
    # When the replay runs on to 09:30, past the first-response deadline
    later = run("replay", path, "--summary", "--until", "2025-07-14T09:30:00+08:00")
    # Then the warning and the breach (which escalates) fired only in the second run
    assert "(0 timers fired)" in quiet.stdout
    assert "(2 timers fired)" in later.stdout, later.stdout
