"""Portable SQL pieces for the KPI queries, so SQLite and PostgreSQL give the same figures.

SQLite has no percentile function, no interval type and no time-zone database; these
constructs compile to what each backend has, and the percentile is the nearest-rank one
computed from row_number() and count(), which both backends run as window functions.
"""

from typing import Any

from sqlalchemy import BigInteger, Date, Float, Row, and_, case, cast, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, FromClause
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from complaintflow.engine.reporting.kpi import RESOLVED_STATES, ReportRequest
from complaintflow.state_store.tables import complaints_t, history_t

_UNIX_EPOCH_JULIAN_DAY = 2440587.5
AnyRow = Row[*tuple[Any, ...]]


class epoch_ms(FunctionElement[int]):
    """Whole milliseconds since 1970 of a stored timestamp (naive UTC text on SQLite,
    timestamptz on PostgreSQL). Integers, so durations and comparisons at an edge (a response
    at exactly 3 minutes, a reply at the due instant) are exact on both backends; SQLite's
    julianday() is exact to the millisecond, so both count milliseconds."""

    type = BigInteger()
    inherit_cache = True


class iso_epoch_ms(FunctionElement[int]):
    """Whole milliseconds since 1970 of ISO 8601 text with an offset (JSON payload times)."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_ms, "sqlite")
@compiles(iso_epoch_ms, "sqlite")
def _sqlite_epoch(element: FunctionElement[int], compiler: SQLCompiler, **kw: Any) -> str:
    # julianday() reads both the stored text and ISO text with "+08:00" or "Z"
    value = compiler.process(element.clauses, **kw)
    return f"CAST(round((julianday({value}) - {_UNIX_EPOCH_JULIAN_DAY}) * 86400000.0) AS INTEGER)"


@compiles(epoch_ms, "postgresql")
def _pg_epoch(element: FunctionElement[int], compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return f"CAST(round(EXTRACT(EPOCH FROM {value}) * 1000) AS BIGINT)"


@compiles(iso_epoch_ms, "postgresql")
def _pg_iso_epoch(element: FunctionElement[int], compiler: SQLCompiler, **kw: Any) -> str:
    timestamp = f"CAST({compiler.process(element.clauses, **kw)} AS TIMESTAMP WITH TIME ZONE)"
    return f"CAST(round(EXTRACT(EPOCH FROM {timestamp}) * 1000) AS BIGINT)"


class local_day(FunctionElement[Any]):
    """The calendar day of a stored timestamp at a fixed UTC offset (seconds, an int the
    report computes, never user text)."""

    type = Date()
    inherit_cache = False

    def __init__(self, value: ColumnElement[Any], offset_s: int) -> None:
        super().__init__(value)
        self.offset_s = int(offset_s)


@compiles(local_day, "sqlite")
def _sqlite_day(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '{element.offset_s:+d} seconds')"


@compiles(local_day, "postgresql")
def _pg_day(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return f"CAST(({value} AT TIME ZONE 'UTC') + INTERVAL '{element.offset_s} seconds' AS DATE)"


def seconds(milliseconds: ColumnElement[Any]) -> ColumnElement[Any]:
    return cast(milliseconds, Float) / 1000


def seconds_between(start: ColumnElement[Any], end: ColumnElement[Any]) -> ColumnElement[Any]:
    return seconds(epoch_ms(end) - epoch_ms(start))


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


def period_conditions(request: ReportRequest) -> list[ColumnElement[bool]]:
    """Complaints received in [since, until); no condition on an unbounded side."""
    conditions = []
    if request.since is not None:
        conditions.append(complaints_t.c.received_at >= request.since)
    if request.until is not None:
        conditions.append(complaints_t.c.received_at < request.until)
    return conditions


def period_history(request: ReportRequest, *types: str) -> FromClause:
    """History rows of `types` whose complaint was received in the period. Without bounds the
    join to complaints is left out: every history row belongs to a complaint."""
    query = select(history_t).where(history_t.c.type.in_(types))
    conditions = period_conditions(request)
    if conditions:
        query = query.join(
            complaints_t, complaints_t.c.complaint_id == history_t.c.complaint_id
        ).where(and_(*conditions))
    return query.subquery()


def period_complaints(request: ReportRequest) -> FromClause:
    conditions = period_conditions(request)
    query = select(complaints_t)
    return (query.where(and_(*conditions)) if conditions else query).subquery()


def is_resolved(complaints: FromClause) -> ColumnElement[bool]:
    """Resolved now: resolved at least once and not reopened since."""
    return and_(complaints.c.resolved_at.is_not(None), complaints.c.state.in_(RESOLVED_STATES))
