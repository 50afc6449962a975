"""Injectable clocks. Nothing in complaintflow reads the wall clock except `SystemClock`.

`ScaledClock` runs faster than the wall clock from its start (COMPLAINTFLOW_CLOCK_SPEED), so
a demo or drill sees a day of deadlines, warnings and escalations in minutes.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from complaintflow.engine.ports import Clock


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to: for tests."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, by: timedelta) -> None:
        self._now += by


class ScaledClock:
    """`speed` seconds of clock time per wall-clock second, counted from construction."""

    def __init__(
        self, speed: float, base: Clock | None = None, origin: datetime | None = None
    ) -> None:
        self._base: Callable[[], datetime] = (base or SystemClock()).now
        self._wall_start = self._base()
        self._origin = origin or self._wall_start
        self.speed = speed

    def now(self) -> datetime:
        return self._origin + (self._base() - self._wall_start) * self.speed
