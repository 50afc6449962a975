"""The installed `complaintflow` console script, run as a user runs it."""

import shutil
import subprocess


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shutil.which("complaintflow") or "complaintflow", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
