"""Period bounds the report cannot use are refused where they are read, in one short line:
out of range before any query is built, and never echoed back at length."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from complaintflow.engine.redaction import abridged
from complaintflow.engine.reporting.period import PeriodError, parse_moment, parse_period

SHANGHAI = ZoneInfo("Asia/Shanghai")
OUT_OF_RANGE = "out of range, expected a moment between 1900-01-01 and 9998-12-31"


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01",  # its midnight at +08:00 is in year 0 in UTC
        "0001-01-01T00:00:00+14:00",
        "1899-12-31T23:59:59",
        "9999-12-31",
        "9999-12-31T23:59:59-12:00",  # past the end of datetime in UTC
    ],
)
def test_a_moment_outside_the_years_the_store_can_hold_is_refused(text: str) -> None:
    with pytest.raises(PeriodError) as refused:
        parse_moment(text, SHANGHAI, "since")
    assert str(refused.value) == f"since {text!r}: {OUT_OF_RANGE}"


def test_the_first_and_last_days_in_range_convert_to_utc() -> None:
    first = parse_moment("1900-01-01", SHANGHAI, "--since")
    last = parse_moment("9998-12-31T23:59:59-12:00", SHANGHAI, "--until")
    assert first.astimezone(UTC).year == 1899
    assert last.astimezone(UTC) == datetime(9999, 1, 1, 11, 59, 59, tzinfo=UTC)


def test_a_long_bad_bound_is_echoed_cut_to_forty_characters() -> None:
    with pytest.raises(PeriodError) as refused:
        parse_moment("2025-" + "9" * 100_000, SHANGHAI, "--since")
    message = str(refused.value)
    assert message.startswith("--since '2025-" + "9" * 34 + "…': expected YYYY-MM-DD")
    assert len(message) < 140


def test_an_empty_period_names_both_bounds() -> None:
    with pytest.raises(PeriodError) as refused:
        parse_period("2025-07-15", "2025-07-14", SHANGHAI, ("since", "until"))
    assert str(refused.value) == "until 2025-07-14 is not after since 2025-07-15"


def test_abridged_keeps_short_text_and_cuts_long_text_with_an_ellipsis() -> None:
    assert abridged("C-1") == "C-1"
    assert abridged("x" * 40) == "x" * 40
    assert abridged("x" * 41) == "x" * 39 + "…"
    assert len(abridged("y" * 100_000)) == 40
