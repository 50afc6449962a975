"""The report's period as people write it, read in the business calendar's time zone."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from complaintflow.engine.errors import ComplaintflowError
from complaintflow.engine.redaction import abridged

# Years a bound may name: any moment in them is an instant in UTC and in the store whatever
# its offset (0001-01-01 at +08:00 is still year 0 in UTC, which no datetime can hold).
FIRST_YEAR, LAST_YEAR = 1900, 9998


class PeriodError(ComplaintflowError):
    """A period bound the report cannot use; the message names the bound as the caller
    spelled it (`--since` on the command line, `since` on GET /report) and echoes at most
    the start of what was given."""


def parse_moment(text: str, zone: ZoneInfo, name: str) -> datetime:
    """A date is its midnight and a date-time without offset is wall time, both in the
    report's time zone (the workflow's business calendar), so `--since 2025-07-15` means the
    business day, not UTC's. Years outside FIRST_YEAR..LAST_YEAR are refused here, not by
    the database driver halfway through the report."""
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time(), zone)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise PeriodError(
            f"{name} {abridged(text)!r}: expected YYYY-MM-DD or an ISO 8601 date-time "
            "such as 2025-07-15T09:00:00+08:00"
        ) from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise PeriodError(
            f"{name} {abridged(text)!r}: out of range, expected a moment between "
            f"{FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31"
        )
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
        raise PeriodError(
            f"{names[1]} {abridged(str(until))} is not after {names[0]} {abridged(str(since))}"
        )
    return start, end
