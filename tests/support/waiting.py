"""Waiting on a condition with a deadline: polled, failing with what was awaited, never a
bare sleep standing in for synchronisation."""

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
