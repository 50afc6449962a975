"""Deadline arithmetic on business calendars: working hours, workdays, public holidays.

SLA budgets are working time: "4 h" handed in at Friday 17:00 is due Monday afternoon, and
the CN National Day week counts for nothing while its make-up Sundays count. All arithmetic is
done in the calendar's time zone; results are timezone-aware.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from complaintflow.engine.errors import WorkflowError
from complaintflow.workflows.definition import WEEKDAYS, CalendarSpec

_MAX_DAYS = 3 * 366
_ZERO, _ONE_DAY = timedelta(0), timedelta(days=1)


class BusinessCalendar:
    """Adds working time to instants and measures working time between instants."""

    def __init__(self, spec: CalendarSpec) -> None:
        try:
            self.zone = ZoneInfo(spec.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise WorkflowError(f"unknown time zone {spec.timezone!r}") from None
        self._holidays: holidays.HolidayBase | None = None
        if spec.holidays:
            try:
                self._holidays = holidays.country_holidays(spec.holidays)
            except NotImplementedError:
                raise WorkflowError(
                    f"the holidays package has no country {spec.holidays!r}"
                ) from None
        self._workdays = frozenset(WEEKDAYS.index(d) for d in spec.workdays)
        self._hours = tuple(spec.hours)
        self.always_open = (
            self._holidays is None
            and len(self._workdays) == 7
            and self._hours[0][0] == time(0, 0)
            and self._hours[-1][1] >= time(23, 59, 59)
            and len(self._hours) == 1
        )
        self.is_working_day = lru_cache(maxsize=4096)(self._is_working_day)
        # every deadline armed or measured walks the same few days: their windows are fixed
        self._windows = lru_cache(maxsize=4096)(self._day_windows)

    def _is_working_day(self, day: date) -> bool:
        if self._holidays is not None:
            if day in self._holidays:
                return False
            if day in getattr(self._holidays, "weekend_workdays", ()):
                return True
        return day.weekday() in self._workdays

    def _day_windows(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The day's working windows as UTC instants: Python subtracts and adds aware
        datetimes of one ZoneInfo on the wall clock, which is wrong across DST changes."""
        if not self.is_working_day(day):
            return ()
        windows = []
        for start, end in self._hours:
            opens = datetime.combine(day, start, self.zone)
            closes = (
                datetime.combine(day + timedelta(days=1), time(0, 0), self.zone)
                if end >= time(23, 59, 59)
                else datetime.combine(day, end, self.zone)
            )
            windows.append((opens.astimezone(UTC), closes.astimezone(UTC)))
        return tuple(windows)

    def add(self, start: datetime, budget: timedelta) -> datetime:
        """The instant at which `budget` of working time has passed since `start`."""
        local = start.astimezone(UTC)
        if self.always_open or budget <= _ZERO:
            return (local + budget).astimezone(self.zone)
        remaining = budget
        day = local.astimezone(self.zone).date()
        for _ in range(_MAX_DAYS):
            for opens, closes in self._windows(day):
                begin = max(opens, local)
                if begin >= closes:
                    continue
                span = closes - begin
                if remaining <= span:
                    return (begin + remaining).astimezone(self.zone)
                remaining -= span
            day += _ONE_DAY
        raise WorkflowError(f"calendar has no working time within {_MAX_DAYS} days of {start}")

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """Working time in [start, end); zero when end is not after start."""
        if end <= start:
            return _ZERO
        local_start, local_end = start.astimezone(UTC), end.astimezone(UTC)
        if self.always_open:
            return local_end - local_start
        total = _ZERO
        day = local_start.astimezone(self.zone).date()
        last = local_end.astimezone(self.zone).date()
        while day <= last:
            for opens, closes in self._windows(day):
                overlap = min(closes, local_end) - max(opens, local_start)
                if overlap > _ZERO:
                    total += overlap
            day += _ONE_DAY
        return total
