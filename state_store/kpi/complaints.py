"""KPI figures of the complaints, from the read model's one row per complaint: volume, first
response, handling, outcomes, escalations and the closed loop.

Every count and mean comes from one scan (`complaint_figures`); the groupings take one scan
each and the percentiles an index step each. Neither the complaints table (whose rows carry
the aggregate JSON) nor the history is read.
"""

from datetime import date
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, and_, func, select

from complaintflow.engine.reporting.kpi import Bucket, Count, ReportRequest
from complaintflow.engine.reporting.read_model import CAUSE_COLUMNS, LEVEL_COLUMNS
from complaintflow.state_store.kpi.sql import (
    AnyRow,
    count_where,
    day_of,
    in_period,
    local_day,
    mean,
    nearest_rank_s,
    ratio,
    seconds,
)
from complaintflow.state_store.tables import kpi_complaints_t

complaint = kpi_complaints_t.c


def complaint_figures(connection: Connection, request: ReportRequest) -> AnyRow:
    """One row: the counts behind the rates and the rates; handling and first-response times;
    first responses within each histogram edge (`within_<n>`); escalations per level and cause
    (labelled by their column); the closed loop: complaints resolved now whose last resolution
    was followed by a satisfied revisit. A complaint nobody answered is a first-response miss
    once its deadline breached: left out, a period where half the customers heard nothing
    could still show 100 %."""
    received = func.count()
    resolved = func.count(complaint.handling_ms)  # handling_ms is kept for complaints resolved now
    resolved_ever = count_where(complaint.resolved_ever)
    reopened = count_where(complaint.reopened)
    overdue = count_where(complaint.overdue)
    closed = count_where(and_(complaint.closed_loop, complaint.handling_ms.is_not(None)))
    handling = seconds(complaint.handling_ms)
    responded = func.count(complaint.first_response_ms)
    missed = count_where(
        and_(complaint.first_response_ms.is_(None), complaint.first_response_breached)
    )
    within = [  # cumulative: responses taking at most each edge (the target is one)
        count_where(complaint.first_response_ms <= edge * 1000).label(f"within_{n}")
        for n, edge in enumerate(request.histogram_edges_s)
    ]
    escalations = [
        func.coalesce(func.sum(complaint[name]), 0).label(name)
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
            responded.label("responded"),
            missed.label("unanswered_missed"),
            mean(seconds(complaint.first_response_ms)).label("first_response_mean_s"),
            *within,
            *escalations,
        ).where(*in_period(kpi_complaints_t, request))
    ).one()


def first_response_percentile(
    connection: Connection, request: ReportRequest, responded: int, percent: int
) -> float | None:
    conditions = in_period(kpi_complaints_t, request)
    return nearest_rank_s(connection, complaint.first_response_ms, conditions, responded, percent)


def within_target_share(figures: AnyRow, request: ReportRequest) -> float | None:
    target = request.histogram_edges_s.index(request.first_response_target.total_seconds())
    answered_or_missed = figures.responded + figures.unanswered_missed
    return getattr(figures, f"within_{target}") / answered_or_missed if answered_or_missed else None


def histogram(figures: AnyRow, request: ReportRequest) -> list[Bucket]:
    """Responses per bucket (from_s, to_s] of the histogram's edges, from the cumulative
    counts; upper bounds are inclusive so the buckets up to the target are exactly the
    responses within target, and the first bucket also holds 0 and below."""
    edges = request.histogram_edges_s
    within = [getattr(figures, f"within_{n}") for n in range(1, len(edges))]
    counts = [b - a for a, b in pairwise([0, *within, figures.responded])]
    return [
        Bucket(from_s=low, to_s=high, complaints=count)
        for low, high, count in zip(edges, [*edges[1:], None], counts, strict=True)
    ]


def escalation_counts(figures: AnyRow, columns: dict[str, str]) -> tuple[int, dict[str, Count]]:
    """Escalations per level or cause (`columns`: name -> column), busiest first, with their
    total; names nobody escalated for are left out, as a grouping would leave them."""
    counts = {name: getattr(figures, column) for name, column in columns.items()}
    total = sum(counts.values())
    ranked = sorted((-n, name) for name, n in counts.items() if n)
    return total, {name: Count(count=-n, share=-n / total) for n, name in ranked}


def by_category(connection: Connection, request: ReportRequest) -> list[AnyRow]:
    """Per category: complaints, their share, and handling time of the resolved ones."""
    handling = seconds(complaint.handling_ms)
    return list(
        connection.execute(
            select(
                complaint.category.label("name"),
                func.count().label("count"),
                ratio(func.count(), func.sum(func.count()).over()).label("share"),
                func.count(complaint.handling_ms).label("resolved"),
                mean(handling).label("mean_s"),
                func.max(handling).label("max_s"),
            )
            .where(*in_period(kpi_complaints_t, request))
            .group_by(complaint.category)
            .order_by(func.count().desc(), complaint.category)
        )
    )


def by_channel(connection: Connection, request: ReportRequest) -> dict[str, Count]:
    """Per channel the complaint first came in on, so the shares of a period add up to 1."""
    rows = connection.execute(
        select(
            complaint.channel,
            func.count().label("count"),
            ratio(func.count(), func.sum(func.count()).over()).label("share"),
        )
        .where(*in_period(kpi_complaints_t, request))
        .group_by(complaint.channel)
        .order_by(func.count().desc(), complaint.channel)
    )
    return {row.channel: Count(count=row.count, share=row.share) for row in rows}


def by_day(connection: Connection, request: ReportRequest) -> dict[date, int]:
    """Complaints received per day in the report's time zone, oldest first."""
    day: Any = local_day(complaint.received_us, int(request.day_offset.total_seconds())).label(
        "day"
    )
    rows = connection.execute(
        select(day, func.count())
        .where(*in_period(kpi_complaints_t, request))
        .group_by(day)
        .order_by(day)
    )
    return {day_of(days): count for days, count in rows}
