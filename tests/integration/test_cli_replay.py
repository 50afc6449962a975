"""`complaintflow replay` as a user runs it: the console script in a subprocess."""

import json
import subprocess
import sys
from pathlib import Path

from tests.support.builders import MONDAY_9, RECEIVED, raw

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


def test_replay_as_json_is_one_object_a_script_can_read(tmp_path: Path) -> None:
    # Given a stream with a long complaint id, a merge-free second complaint and a bad line
    long_id = "C-" + "7" * 60
    lines = [
        raw("complaint.received", complaint_id=long_id),
        raw("agent.responded", complaint_id=long_id),
        b"{broken",
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    # When it is replayed with --format json
    result = run("replay", path, "--format", "json")
    # Then stdout is the contract's object, ids whole
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["complaints"] == [
        {
            "complaint_id": long_id,
            "state": "responded",
            "version": 3,
            "priority": "P3",
            "department": "finance",
            "escalation_level": None,
            "channels": ["app"],
        }
    ]
    assert output["refused"] == [
        {"line": 3, "complaint_id": None, "reason": output["refused"][0]["reason"]}
    ]
    assert output["refused"][0]["reason"].startswith("not JSON")
    assert output["counts"]["complaints"] == 1
    assert output["counts"]["refused"] == 1
    assert output["counts"]["by_state"] == {"responded": 1}


def test_text_tables_keep_ids_and_states_whole_when_piped(tmp_path: Path) -> None:
    ids = [f"C-{n}-" + "x" * 50 for n in range(3)]
    lines = [
        raw("complaint.received", complaint_id=cid, payload={**RECEIVED, "order_id": cid})
        for cid in ids
    ]
    lines += [raw(t, complaint_id=ids[0]) for t in ("agent.responded", "collaboration.requested")]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = run("replay", path)
    assert result.returncode == 0, result.stderr
    for cid in ids:
        assert cid in result.stdout
    assert "collaboration" in result.stdout
    assert "…" not in result.stdout
