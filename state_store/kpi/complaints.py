"""KPI figures of the complaints, from the read model's one row per complaint: volume, first
response, handling, outcomes, escalations and the closed loop.

Most of them come from one scan (`outcome_figures`); the groupings and the percentiles each
take another. Neither the complaints table (whose rows carry the aggregate JSON) nor the
history is read.
"""

from typing import Any

from sqlalchemy import Connection, and_, case, func, select
from sqlalchemy.sql import ColumnElement, FromClause

from complaintflow.engine.reporting.kpi import Bucket, Count, ReportRequest
from complaintflow.engine.reporting.read_model import CAUSE_COLUMNS, LEVEL_COLUMNS
from complaintflow.state_store.kpi.sql import (
    AnyRow,
    count_where,
    day_of,
    in_period,
    local_day,
    mean,
    nearest_rank,
    ratio,
    seconds,
)
from complaintflow.state_store.tables import kpi_complaints_t


def _complaints(request: ReportRequest) -> FromClause:
    return in_period(kpi_complaints_t, request)


def outcome_figures(connection: Connection, request: ReportRequest) -> AnyRow:
    """One row: the counts behind the rates, the rates, overall handling time, escalations per
    level and cause (labelled by their column), and the closed loop: complaints resolved now
    whose last resolution was followed by a satisfied revisit."""
    c = _complaints(request)
    received = func.count()
    resolved = func.count(c.c.handling_ms)  # handling_ms is kept for complaints resolved now
    resolved_ever = count_where(c.c.resolved_ever)
    reopened = count_where(c.c.reopened)
    overdue = count_where(c.c.overdue)
    closed = count_where(and_(c.c.closed_loop, c.c.handling_ms.is_not(None)))
    handling = seconds(c.c.handling_ms)
    escalations = [
        func.coalesce(func.sum(c.c[name]), 0).label(name)
        for name in (*LEVEL_COLUMNS.values(), *CAUSE_COLUMNS.values())
    ]
    return connection.execute(
        select(
            received.label("received"),
            resolved.label("resolved"),
            resolved_ever.label("resolved_ever"),
            reopened.label("reopened"),
            overdue.label("overdue"),
            ratio(overdue, received).label("overdue_share"),
            ratio(resolved, received).label("resolution_rate"),
            ratio(reopened, resolved_ever).label("repeat_rate"),
            mean(handling).label("handling_mean_s"),
            func.max(handling).label("handling_max_s"),
            closed.label("closed"),
            ratio(closed, resolved).label("closed_loop_rate"),
            *escalations,
        )
    ).one()


def escalation_counts(outcomes: AnyRow, columns: dict[str, str]) -> tuple[int, dict[str, Count]]:
    """Escalations per level or cause (`columns`: name -> column), busiest first, with their
    total; names nobody escalated for are left out, as a grouping would leave them."""
    counts = {name: getattr(outcomes, column) for name, column in columns.items()}
    total = sum(counts.values())
    ranked = sorted((-n, name) for name, n in counts.items() if n)
    return total, {name: Count(count=-n, share=-n / total) for n, name in ranked}


def by_category(connection: Connection, request: ReportRequest) -> list[AnyRow]:
    """Per category: complaints, their share, and handling time of the resolved ones."""
    c = _complaints(request)
    handling = seconds(c.c.handling_ms)
    return list(
        connection.execute(
            select(
                c.c.category.label("name"),
                func.count().label("count"),
                ratio(func.count(), func.sum(func.count()).over()).label("share"),
                func.count(c.c.handling_ms).label("resolved"),
                mean(handling).label("mean_s"),
                func.max(handling).label("max_s"),
            )
            .group_by(c.c.category)
            .order_by(func.count().desc(), c.c.category)
        )
    )


def by_channel(connection: Connection, request: ReportRequest) -> dict[str, Count]:
    """Per channel the complaint first came in on, so the shares of a period add up to 1."""
    c = _complaints(request)
    rows = connection.execute(
        select(
            c.c.channel,
            func.count().label("count"),
            ratio(func.count(), func.sum(func.count()).over()).label("share"),
        )
        .group_by(c.c.channel)
        .order_by(func.count().desc(), c.c.channel)
    )
    return {row.channel: Count(count=row.count, share=row.share) for row in rows}


def by_day(connection: Connection, request: ReportRequest) -> dict[Any, int]:
    """Complaints received per day in the report's time zone, oldest first."""
    c = _complaints(request)
    day = local_day(c.c.received_us, int(request.day_offset.total_seconds())).label("day")
    rows = connection.execute(select(day, func.count()).group_by(day).order_by(day))
    return {day_of(days): count for days, count in rows}


def first_response_figures(connection: Connection, request: ReportRequest) -> AnyRow:
    """Count, mean, p50, p90 and the share within target of received → first response. A
    complaint nobody answered is a miss once its first-response deadline breached; left out,
    a period where half the customers heard nothing could still show 100 %."""
    c = _complaints(request)
    took = seconds(c.c.first_response_ms)
    ranked = (
        select(
            took.label("s"),
            func.row_number().over(order_by=took).label("rn"),
            func.count().over().label("n"),
        )
        .where(c.c.first_response_ms.is_not(None))
        .subquery()
    )
    unanswered_missed = (
        select(func.count())
        .select_from(c)
        .where(c.c.first_response_ms.is_(None), c.c.first_response_breached)
        .scalar_subquery()
    )
    within = count_where(ranked.c.s <= request.first_response_target.total_seconds())
    return connection.execute(
        select(
            func.count().label("responded"),
            unanswered_missed.label("unanswered_missed"),
            mean(ranked.c.s).label("mean_s"),
            func.max(case((nearest_rank(ranked.c.rn, ranked.c.n, 50), ranked.c.s))).label("p50_s"),
            func.max(case((nearest_rank(ranked.c.rn, ranked.c.n, 90), ranked.c.s))).label("p90_s"),
            ratio(within, func.count() + unanswered_missed).label("within_target_share"),
        )
    ).one()


def first_response_histogram(connection: Connection, request: ReportRequest) -> list[Bucket]:
    """Complaints per first-response bucket (from_s, to_s], counted in SQL; empty ones are 0.
    Upper bounds are inclusive so the buckets up to the target are exactly the responses
    within target."""
    c = _complaints(request)
    took: ColumnElement[Any] = seconds(c.c.first_response_ms)
    edges = request.histogram_edges_s
    bucket = case(
        *[(took <= edge, index - 1) for index, edge in enumerate(edges) if index > 0],
        else_=len(edges) - 1,
    ).label("bucket")
    counts: dict[int, int] = dict(
        connection.execute(
            select(bucket, func.count()).where(c.c.first_response_ms.is_not(None)).group_by(bucket)
        ).all()
    )
    bounds = [*edges[1:], None]
    return [
        Bucket(from_s=low, to_s=high, complaints=counts.get(index, 0))
        for index, (low, high) in enumerate(zip(edges, bounds, strict=True))
    ]
