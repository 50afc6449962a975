"""Human-written durations ("90s", "30m", "4h", "2d", "1h30m") for workflow files."""

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator

_PART = re.compile(r"(\d+)([dhms])")
_WHOLE = re.compile(r"^(?:\d+[dhms])+$")
_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_duration(value: object) -> timedelta:
    """Refuse anything that is not a duration, naming the accepted forms."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str) and _WHOLE.match(value.strip()):
        seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(value))
        return timedelta(seconds=seconds)
    raise ValueError(f"{value!r} is not a duration; write e.g. '90s', '30m', '4h', '2d' or '1h30m'")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
