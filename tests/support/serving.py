"""`complaintflow serve` as its own process, and plain HTTP calls to it, for the tests."""

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from complaintflow.engine.embedded_broker import free_port
from tests.support.waiting import wait_for


def complaintflow(*args: str) -> list[str]:
    return [shutil.which("complaintflow") or "complaintflow", *args]


def serve_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of a `complaintflow serve` on `url`: none of the caller's own
    COMPLAINTFLOW_* settings, only `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTFLOW_")}
    return {**env, "COMPLAINTFLOW_DATABASE_URL": url, **extra}


def get(url: str, token: str | None = None, timeout: float = 10) -> tuple[int, bytes]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get_json(url: str, token: str | None = None) -> tuple[int, Any]:
    status, body = get(url, token)
    return status, json.loads(body)


@contextmanager
def serving(url: str, ready: int = 200, **extra_env: str) -> Iterator[str]:
    """`complaintflow serve` on a free loopback port, once /healthz answers `ready`."""
    port = free_port()
    env = serve_env(url, COMPLAINTFLOW_SERVE_PORT=str(port), **extra_env)
    process = subprocess.Popen(
        complaintflow("serve"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            _, err = process.communicate()
            raise AssertionError(f"serve exited with {process.returncode}: {err.decode()}")
        try:
            return get(f"{base}/healthz")[0] == ready
        except (urllib.error.URLError, ConnectionError):
            return False

    try:
        wait_for(answers, timeout=30, what=f"{ready} from complaintflow serve /healthz")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
