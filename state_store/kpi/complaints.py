"""KPI figures read from the complaints table: volume, first response, handling, outcomes.

The complaint row keeps what these need in indexed, typed columns (received_at,
first_response_at, resolved_at, overdue, reopen_count), all on event time, so none of them
touches the history or the aggregate JSON.
"""

from typing import Any

from sqlalchemy import Connection, case, func, or_, select
from sqlalchemy.sql import ColumnElement, FromClause

from complaintflow.engine.core.vocabulary import Channel, DeadlineName, EventType
from complaintflow.engine.reporting.kpi import Bucket, Count, ReportRequest
from complaintflow.state_store.kpi.sql import (
    AnyRow,
    count_where,
    is_resolved,
    local_day,
    mean,
    nearest_rank,
    period_complaints,
    ratio,
    seconds_between,
)
from complaintflow.state_store.tables import history_t


def _handling_s(c: FromClause) -> ColumnElement[Any]:
    """Received to resolved, for complaints resolved now (null otherwise)."""
    return case((is_resolved(c), seconds_between(c.c.received_at, c.c.resolved_at)))


def outcome_figures(connection: Connection, request: ReportRequest) -> AnyRow:
    """One row: the counts behind the rates, the rates, and overall handling time."""
    c = period_complaints(request)
    received = func.count()
    resolved = count_where(is_resolved(c))
    resolved_ever = func.count(c.c.resolved_at)
    reopened = count_where(c.c.reopen_count > 0)
    overdue = count_where(c.c.overdue)
    handling = _handling_s(c)
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
        ).select_from(c)
    ).one()


def by_category(connection: Connection, request: ReportRequest) -> list[AnyRow]:
    """Per category: complaints, their share, and handling time of the resolved ones."""
    c = period_complaints(request)
    handling = _handling_s(c)
    return list(
        connection.execute(
            select(
                c.c.category.label("name"),
                func.count().label("count"),
                ratio(func.count(), func.sum(func.count()).over()).label("share"),
                count_where(is_resolved(c)).label("resolved"),
                mean(handling).label("mean_s"),
                func.max(handling).label("max_s"),
            )
            .group_by(c.c.category)
            .order_by(func.count().desc(), c.c.category)
        )
    )


def by_channel(connection: Connection, request: ReportRequest) -> dict[str, Count]:
    """Per channel the complaint first came in on (`channels` lists the channels of merged
    duplicates after it), so the shares of a period add up to 1."""
    c = period_complaints(request)
    first = case(
        *[(or_(c.c.channels == ch, c.c.channels.startswith(f"{ch},")), ch.value) for ch in Channel],
        else_=c.c.channels,
    ).label("channel")
    rows = connection.execute(
        select(
            first,
            func.count().label("count"),
            ratio(func.count(), func.sum(func.count()).over()).label("share"),
        )
        .group_by(first)
        .order_by(func.count().desc(), first)
    )
    return {row.channel: Count(count=row.count, share=row.share) for row in rows}


def by_day(connection: Connection, request: ReportRequest) -> list[AnyRow]:
    """Complaints received per day in the report's time zone, oldest first."""
    c = period_complaints(request)
    day = local_day(c.c.received_at, int(request.day_offset.total_seconds())).label("day")
    return list(
        connection.execute(select(day, func.count().label("count")).group_by(day).order_by(day))
    )


def first_response_figures(connection: Connection, request: ReportRequest) -> AnyRow:
    """Count, mean, p50, p90 and the share within target of received → first response."""
    c = period_complaints(request)
    took = seconds_between(c.c.received_at, c.c.first_response_at)
    ranked = (
        select(
            took.label("s"),
            func.row_number().over(order_by=took).label("rn"),
            func.count().over().label("n"),
        )
        .where(c.c.first_response_at.is_not(None))
        .subquery()
    )
    within = count_where(ranked.c.s <= request.first_response_target.total_seconds())
    # a complaint nobody answered is a miss once its first-response deadline breached; left
    # out, a period where half the customers heard nothing could still show 100 %
    first_response_breached = (
        select(history_t.c.complaint_id)
        .where(
            history_t.c.complaint_id == c.c.complaint_id,
            history_t.c.type == EventType.SLA_BREACHED.value,
            history_t.c.payload["deadline"].as_string() == DeadlineName.FIRST_RESPONSE.value,
        )
        .exists()
    )
    unanswered_missed = (
        select(func.count())
        .select_from(c)
        .where(c.c.first_response_at.is_(None), first_response_breached)
        .scalar_subquery()
    )
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
    c = period_complaints(request)
    took = seconds_between(c.c.received_at, c.c.first_response_at)
    edges = request.histogram_edges_s
    bucket = case(
        *[(took <= edge, index - 1) for index, edge in enumerate(edges) if index > 0],
        else_=len(edges) - 1,
    ).label("bucket")
    counts: dict[int, int] = dict(
        connection.execute(
            select(bucket, func.count()).where(c.c.first_response_at.is_not(None)).group_by(bucket)
        ).all()
    )
    bounds = [*edges[1:], None]
    return [
        Bucket(from_s=low, to_s=high, complaints=counts.get(index, 0))
        for index, (low, high) in enumerate(zip(edges, bounds, strict=True))
    ]
