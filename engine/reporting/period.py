"""The report's period as people write it, read in the business calendar's time zone."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from complaintflow.engine.errors import ComplaintflowError


class PeriodError(ComplaintflowError):
    """A period bound the report cannot use; the message names the bound as the caller
    spelled it (`--since` on the command line, `since` on GET /report)."""


def parse_moment(text: str, zone: ZoneInfo, name: str) -> datetime:
    """A date is its midnight and a date-time without offset is wall time, both in the
    report's time zone (the workflow's business calendar), so `--since 2025-07-15` means the
    business day, not UTC's."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), zone)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PeriodError(
            f"{name} {text!r}: expected YYYY-MM-DD or an ISO 8601 date-time "
            "such as 2025-07-15T09:00:00+08:00"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def parse_period(
    since: str | None,
    until: str | None,
    zone: ZoneInfo,
    names: tuple[str, str] = ("--since", "--until"),
) -> tuple[datetime | None, datetime | None]:
    """[since, until) as instants; either may be open."""
    start = None if since is None else parse_moment(since, zone, names[0])
    end = None if until is None else parse_moment(until, zone, names[1])
    if start is not None and end is not None and end <= start:
        raise PeriodError(f"{names[1]} {until} is not after {names[0]} {since}")
    return start, end
