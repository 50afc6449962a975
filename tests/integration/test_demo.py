"""The main job, as `./scripts/demo` runs it: embedded broker, a worker, a simulated day."""

import os
import re
import shutil
import subprocess
from pathlib import Path


def test_the_demo_runs_a_day_end_to_end_and_writes_its_report(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTFLOW_")}
    done = subprocess.run(
        [shutil.which("complaintflow") or "complaintflow", "demo", "--complaints", "40"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = re.search(
        r"published (\d+) messages; applied (\d+), dead-lettered (\d+)", done.stdout
    )
    assert summary is not None, done.stdout[-2000:]
    published, applied, refused = map(int, summary.groups())
    assert published > 40 * 4 and applied > 0 and refused > 0
    # the demo's call-back service answered every revisit request the engine sent, and the
    # day's alarming complaints (every 16th) were graded up by their words
    desk = re.search(
        r"revisit requests sent (\d+), answered (\d+) \((\d+) customers reached\); "
        r"words that added points: (\d+) complaints",
        done.stdout,
    )
    assert desk is not None, done.stdout[-2000:]
    sent, answered, reached, by_words = map(int, desk.groups())
    assert sent > 0 and answered == sent and 0 < reached <= answered
    assert by_words == 40 // 16
    assert "First response" in done.stdout or "first response" in done.stdout.lower()
    report = tmp_path / "complaintflow-report.html"
    assert report.is_file() and "<svg" in report.read_text(encoding="utf-8")
    assert (tmp_path / "complaintflow-demo.db").is_file()
