"""Portable SQL pieces for the KPI queries, so SQLite and PostgreSQL give the same figures.

The read model keeps times as integers (microseconds of receipt, milliseconds of durations),
so neither backend converts a timestamp while the report runs. SQLite has no percentile
function, and window functions sort every row: a percentile is the nearest-rank one, read as
the row at that offset of an index in the value's order, once the count is known.
"""

from datetime import date
from typing import Any

from sqlalchemy import Connection, Float, Row, Table, case, cast, func, select
from sqlalchemy.sql import ColumnElement

from complaintflow.engine.reporting.kpi import ReportRequest
from complaintflow.engine.reporting.read_model import epoch_us

AnyRow = Row[*tuple[Any, ...]]
DAY_US = 86_400_000_000
_DAYS_BEFORE_1970 = date(1970, 1, 1).toordinal() - 1


def seconds(milliseconds: ColumnElement[Any]) -> ColumnElement[Any]:
    return cast(milliseconds, Float) / 1000


def ratio(numerator: ColumnElement[Any], denominator: ColumnElement[Any]) -> ColumnElement[Any]:
    """numerator / denominator as a float; null when the denominator is 0 (no data)."""
    return cast(numerator, Float) / func.nullif(denominator, 0)


def count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows meet `condition` (0 over no rows: count() is never null)."""
    return func.count(case((condition, 1)))


def mean(value: ColumnElement[Any]) -> ColumnElement[float]:
    """avg() as a float on both backends (PostgreSQL's avg of an integer is numeric)."""
    return cast(func.avg(value), Float)


def nearest_rank_s(
    connection: Connection,
    milliseconds: ColumnElement[int | None],
    conditions: list[ColumnElement[bool]],
    count: int,
    percent: int,
) -> float | None:
    """The `percent` percentile in seconds of `count` non-null values by the nearest-rank
    method: the ceil(percent/100 * count)-th smallest, counted in integers. An index that
    starts with the column (and holds the conditions' columns) lets the database step to it
    without sorting."""
    if count == 0:
        return None
    rank = (count * percent + 99) // 100
    value = connection.scalar(
        select(milliseconds)
        .where(milliseconds.is_not(None), *conditions)
        .order_by(milliseconds)
        .offset(rank - 1)
        .limit(1)
    )
    return None if value is None else value / 1000


def in_period(table: Table, request: ReportRequest) -> list[ColumnElement[bool]]:
    """Rows of a read-model table whose complaint was received in [since, until): a range on
    its received_us; no condition on an unbounded side."""
    conditions = []
    if request.since is not None:
        conditions.append(table.c.received_us >= epoch_us(request.since))
    if request.until is not None:
        conditions.append(table.c.received_us < epoch_us(request.until))
    return conditions


def local_day(received_us: ColumnElement[int], offset_s: int) -> ColumnElement[int]:
    """The day of receipt at a fixed UTC offset, as days since 0001-01-01 (`day_of` reads it):
    shifted so the integer division truncates a positive number on every backend."""
    shift = offset_s * 1_000_000 + _DAYS_BEFORE_1970 * DAY_US
    return (received_us + shift) // DAY_US


def day_of(days: int) -> date:
    return date.fromordinal(days + 1)
