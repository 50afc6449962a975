"""Retry delays, as a pure function so the relay's retry policy is unit-testable."""

import random


def compute_backoff(
    attempt: int, *, base: float = 0.1, cap: float = 10.0, jitter: random.Random | None = None
) -> float:
    """Exponential delay for the `attempt`-th retry (1-based), capped, with optional jitter
    of up to half the delay so that workers restarted together do not retry in lockstep."""
    delay = min(cap, base * 2 ** (attempt - 1))
    if jitter is not None:
        delay -= jitter.uniform(0, delay / 2)
    return delay
