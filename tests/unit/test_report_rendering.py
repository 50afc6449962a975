"""Pure parts of the report: how figures read, and how the CLI reads period bounds."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from complaintflow.engine.reporting.period import PeriodError, parse_moment
from complaintflow.engine.reporting.rows import duration, nps, share
from complaintflow.engine.reporting.svg import Bar, bar_chart, column_chart

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "n/a"),
        (0, "0.0s"),
        (42.5, "42.5s"),
        (180, "3m 00s"),
        (185.4, "3m 05s"),
        (10080, "2h 48m"),
        (183600, "2d 03h"),
        (-90, "-1m 30s"),
    ],
)
def test_durations_read_in_their_two_largest_units(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_shares_and_nps() -> None:
    assert share(0.9462) == "94.6%" and share(None) == "n/a"
    assert nps(20) == "+20.0" and nps(-12.5) == "-12.5" and nps(None) == "n/a"


def test_a_date_is_its_midnight_in_the_report_time_zone() -> None:
    assert parse_moment("2025-07-14", SHANGHAI, "--since") == datetime(2025, 7, 14, tzinfo=SHANGHAI)
    assert parse_moment("2025-07-14T09:30", SHANGHAI, "--since").utcoffset() == timedelta(hours=8)
    utc = parse_moment("2025-07-14T01:00:00+00:00", SHANGHAI, "--until")
    assert utc == datetime(2025, 7, 14, 1, tzinfo=UTC)


def test_a_bound_that_is_not_a_date_says_what_is_expected() -> None:
    with pytest.raises(PeriodError, match="--since 'yesterday': expected YYYY-MM-DD"):
        parse_moment("yesterday", SHANGHAI, "--since")


def test_charts_without_data_still_have_a_size_and_escape_their_labels() -> None:
    assert 'height="50"' in bar_chart("c", "t", []) and "no data" in column_chart("d", "t", [])
    drawn = bar_chart("c", "t", [Bar("<script>", 3, "3 (100.0%)")])
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
