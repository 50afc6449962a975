"""Working-time arithmetic on real dates of the CN business calendar (09:00-12:00,
13:30-18:00, Mon-Fri, CN public holidays and their make-up working weekends)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from complaintflow.engine.core.business_time import BusinessCalendar
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.errors import WorkflowError
from complaintflow.workflows.definition import CalendarSpec
from tests.support.builders import SHANGHAI


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=SHANGHAI)


@pytest.fixture
def cn(workflow: Workflow) -> BusinessCalendar:
    return workflow.calendar("cn_business")


@pytest.mark.parametrize(
    ("start", "budget_h", "due"),
    [
        # within the morning
        (at("2025-07-15", "09:00"), 2, at("2025-07-15", "11:00")),
        # across the lunch break
        (at("2025-07-15", "11:30"), 1, at("2025-07-15", "14:00")),
        # a working-day evening: nothing counts until the next morning
        (at("2025-07-15", "20:00"), 0.5, at("2025-07-16", "09:30")),
        # Friday 17:00 + 2 h: one hour on Friday, one on Monday
        (at("2025-07-18", "17:00"), 2, at("2025-07-21", "10:00")),
        # National Day Golden Week 2025 (Oct 1-8 off): Tue Sep 30 17:00 + 2 h -> Thu Oct 9
        (at("2025-09-30", "17:00"), 2, at("2025-10-09", "10:00")),
        # make-up working Sunday Sep 28 counts; Saturday Sep 27 does not
        (at("2025-09-27", "10:00"), 1, at("2025-09-28", "10:00")),
        # make-up working Saturday Oct 11 follows Fri Oct 10
        (at("2025-10-10", "17:00"), 2, at("2025-10-11", "10:00")),
    ],
)
def test_deadline_on_the_cn_business_calendar(
    cn: BusinessCalendar, start: datetime, budget_h: float, due: datetime
) -> None:
    assert cn.add(start, timedelta(hours=budget_h)) == due


def test_working_time_skips_nights_weekends_and_holidays(cn: BusinessCalendar) -> None:
    # Tue Sep 30 09:00 to Thu Oct 9 12:00: 7.5 h on Sep 30, holidays, 3 h on Oct 9
    assert cn.working_time(at("2025-09-30", "09:00"), at("2025-10-09", "12:00")) == timedelta(
        hours=10.5
    )
    assert cn.working_time(at("2025-07-19", "09:00"), at("2025-07-20", "18:00")) == timedelta(0)
    assert cn.working_time(at("2025-07-15", "12:00"), at("2025-07-15", "11:00")) == timedelta(0)


def test_add_and_working_time_are_inverse(cn: BusinessCalendar) -> None:
    start = at("2025-09-26", "15:10")
    for hours in (0.25, 1, 7.5, 20, 60):
        due = cn.add(start, timedelta(hours=hours))
        assert cn.working_time(start, due) == timedelta(hours=hours)


def test_the_24x7_calendar_is_plain_arithmetic(workflow: Workflow) -> None:
    always = workflow.calendar("always")
    start = at("2025-10-01", "23:00")
    assert always.add(start, timedelta(hours=3)) == at("2025-10-02", "02:00")
    assert always.working_time(start, at("2025-10-02", "02:00")) == timedelta(hours=3)


def test_instants_in_other_time_zones_are_converted() -> None:
    cal = BusinessCalendar(CalendarSpec(timezone="Asia/Shanghai", hours=[("09:00", "18:00")]))
    utc_0100 = datetime.fromisoformat("2025-07-15T01:00:00+00:00")  # 09:00 in Shanghai
    assert cal.add(utc_0100, timedelta(hours=1)) == at("2025-07-15", "10:00")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (CalendarSpec(timezone="Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (CalendarSpec(holidays="XX"), "no country 'XX'"),
    ],
)
def test_bad_calendars_are_refused_with_a_reason(spec: CalendarSpec, message: str) -> None:
    with pytest.raises(WorkflowError, match=message):
        BusinessCalendar(spec)


def test_a_day_that_springs_forward_has_23_working_hours() -> None:
    # Given a round-the-clock calendar in a zone with daylight saving time (DE holidays make it
    # take the day-by-day path); Berlin moved from 02:00 to 03:00 on Sunday 2025-03-30
    cal = BusinessCalendar(CalendarSpec(timezone="Europe/Berlin", holidays="DE"))
    berlin = ZoneInfo("Europe/Berlin")
    midnight = datetime(2025, 3, 30, tzinfo=berlin)
    next_midnight = datetime(2025, 3, 31, tzinfo=berlin)
    assert cal.working_time(midnight, next_midnight) == timedelta(hours=23)
    assert cal.add(midnight, timedelta(hours=23)) == next_midnight
    always = BusinessCalendar(CalendarSpec(timezone="Europe/Berlin"))
    assert always.add(midnight, timedelta(hours=24)) == datetime(2025, 3, 31, 1, tzinfo=berlin)
