"""Portable SQL pieces for the KPI queries, so SQLite and PostgreSQL give the same figures.

The read model keeps times as integers (microseconds of receipt, milliseconds of durations),
so neither backend converts a timestamp while the report runs. SQLite has no percentile
function: the percentile is the nearest-rank one computed from row_number() and count(),
which both backends run as window functions.
"""

from datetime import date
from typing import Any

from sqlalchemy import Float, Row, Table, and_, case, cast, func, select
from sqlalchemy.sql import ColumnElement, FromClause

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
    """How many rows meet `condition` (0, not null, over no rows: coalesce)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def mean(value: ColumnElement[Any]) -> ColumnElement[float]:
    """avg() as a float on both backends (PostgreSQL's avg of an integer is numeric)."""
    return cast(func.avg(value), Float)


def nearest_rank(
    row_number: ColumnElement[int], count: ColumnElement[int], percent: int
) -> ColumnElement[bool]:
    """True on the row holding the `percent` percentile by the nearest-rank method: the
    ceil(percent/100 * n)-th smallest value, in integer arithmetic so both backends agree."""
    return row_number == (count * percent + 99) // 100


def in_period(table: Table, request: ReportRequest) -> FromClause:
    """The rows of a read-model table whose complaint was received in [since, until): a range
    on its received_us index; the whole table without bounds."""
    conditions = []
    if request.since is not None:
        conditions.append(table.c.received_us >= epoch_us(request.since))
    if request.until is not None:
        conditions.append(table.c.received_us < epoch_us(request.until))
    query = select(table)
    return (query.where(and_(*conditions)) if conditions else query).subquery()


def local_day(received_us: ColumnElement[int], offset_s: int) -> ColumnElement[int]:
    """The day of receipt at a fixed UTC offset, as days since 0001-01-01 (`day_of` reads it):
    shifted so the integer division truncates a positive number on every backend."""
    shift = offset_s * 1_000_000 + _DAYS_BEFORE_1970 * DAY_US
    return (received_us + shift) // DAY_US


def day_of(days: int) -> date:
    return date.fromordinal(days + 1)
