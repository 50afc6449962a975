"""UtcDateTime's one-step SQLite processor writes the text SQLAlchemy's own DATETIME writes,
so rows stored before and after it compare and sort alike."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from complaintflow.state_store.models import UtcDateTime

SQLITE = sqlite.dialect()


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
    )
)
def test_sqlite_text_is_sqlalchemys_datetime_text_of_the_utc_time_and_reads_back(
    value: datetime,
) -> None:
    stored_as = UtcDateTime()
    composed = sqlite.DATETIME().bind_processor(SQLITE)
    assert composed is not None
    fast = stored_as.bind_processor(SQLITE)
    assert fast is not None
    assert fast(value) == composed(value.astimezone(UTC).replace(tzinfo=None))
    read = stored_as.dialect_impl(SQLITE).result_processor(SQLITE, None)
    assert read is not None
    assert read(fast(value)) == value.astimezone(UTC)


def test_sqlite_text_keeps_none_and_refuses_a_naive_time() -> None:
    fast = UtcDateTime().bind_processor(SQLITE)
    assert fast is not None
    assert fast(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        fast(datetime(2025, 3, 3, 9, 0))


def test_the_two_instants_of_a_repeated_hour_are_stored_an_hour_apart() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    first = datetime(2024, 10, 27, 2, 30, tzinfo=berlin)  # +02:00, before the clocks go back
    second = first.replace(fold=1)  # +01:00, the same wall time an hour later
    process = UtcDateTime().bind_processor(sqlite.dialect())
    assert process is not None
    assert [process(first), process(second)] == [
        "2024-10-27 00:30:00.000000",
        "2024-10-27 01:30:00.000000",
    ]
    assert [process(second), process(first)] == [
        "2024-10-27 01:30:00.000000",
        "2024-10-27 00:30:00.000000",
    ]
