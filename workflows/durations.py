"""Human-written durations ("90s", "30m", "4h", "2d", "1h30m", "250ms") for workflow files and
settings."""

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator

_PART = re.compile(r"(\d+)(ms|[dhms])")
_WHOLE = re.compile(r"^(?:\d+(?:ms|[dhms]))+$")
_UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}


def parse_duration(value: object) -> timedelta:
    """Refuse anything that is not a duration, naming the accepted forms."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str) and _WHOLE.match(value.strip()):
        milliseconds = sum(int(n) * _UNIT_MS[u] for n, u in _PART.findall(value))
        return timedelta(milliseconds=milliseconds)
    raise ValueError(
        f"{value!r} is not a duration; write e.g. '90s', '30m', '4h', '2d', '1h30m' or '250ms'"
    )


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
