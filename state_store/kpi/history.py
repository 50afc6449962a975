"""KPI figures read from the history (the event log): escalations, department collaboration,
revisits (CSAT, NPS, closed loop, low scores) and agents.

Payload fields are read with SQLAlchemy's JSON indexing (json_extract on SQLite, ->> on
PostgreSQL). Every row of a complaint's history carries its version, so "later" means a
higher version: the log's order, not clocks that upstream systems may have skewed.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Float, and_, case, cast, exists, func, select
from sqlalchemy.sql import ColumnElement, FromClause, Subquery

from complaintflow.engine.core.vocabulary import EventType
from complaintflow.engine.reporting.kpi import Count, DepartmentLatency, ReportRequest
from complaintflow.state_store.kpi.sql import (
    AnyRow,
    count_where,
    epoch_ms,
    is_resolved,
    iso_epoch_ms,
    mean,
    nearest_rank,
    period_complaints,
    period_history,
    ratio,
    seconds,
    seconds_between,
)
from complaintflow.state_store.tables import history_t

ESCALATED = EventType.COMPLAINT_ESCALATED.value
REQUESTED = EventType.COLLABORATION_REQUESTED.value
ASSIGNED = EventType.ASSIGNMENT_CREATED.value
REPLIED = EventType.DEPARTMENT_REPLIED.value
REVISITED = EventType.CUSTOMER_REVISITED.value
RESOLVED = EventType.COMPLAINT_RESOLVED.value
RESPONDED = EventType.AGENT_RESPONDED.value


@dataclass(frozen=True)
class Escalated:
    total: int
    counts: dict[str, Count]


def escalations_by(connection: Connection, request: ReportRequest, field: str) -> Escalated:
    """complaint.escalated rows (inbound and the engine's own alike) per payload `field`, and
    their total (a window sum over the groups)."""
    h = period_history(request, ESCALATED)
    key = h.c.payload[field].as_string().label("key")
    total = func.sum(func.count()).over()
    rows = connection.execute(
        select(
            key,
            func.count().label("count"),
            ratio(func.count(), total).label("share"),
            total.label("total"),
        )
        .group_by(key)
        .order_by(func.count().desc(), key)
    ).all()
    return Escalated(
        total=rows[0].total if rows else 0,
        counts={row.key: Count(count=row.count, share=row.share) for row in rows},
    )


def department_latency(
    connection: Connection, request: ReportRequest
) -> dict[str, DepartmentLatency]:
    """collaboration.requested → the same department's next department.replied.

    Within a complaint and department, requests and replies alternate (one open request per
    department), and the engine records the request's assignment.created, whose due_at is
    the department's deadline on its business calendar, right after the request. So the
    rows that follow a request in that order are its assignment and then its reply, unless
    it was never answered. A request never answered counts as not within SLA and has no
    latency.
    """
    requests_q = _request_latencies(request)
    ranked = select(
        requests_q,
        func.row_number()
        .over(partition_by=requests_q.c.department, order_by=requests_q.c.latency.nulls_last())
        .label("rn"),
        func.count(requests_q.c.latency).over(partition_by=requests_q.c.department).label("n"),
    ).subquery()
    p90 = case((nearest_rank(ranked.c.rn, ranked.c.n, 90), ranked.c.latency))
    rows = connection.execute(
        select(
            ranked.c.department,
            func.count().label("requests"),
            func.count(ranked.c.latency).label("answered"),
            mean(ranked.c.latency).label("mean_s"),
            func.max(p90).label("p90_s"),
            ratio(func.sum(ranked.c.within), func.count()).label("within_sla_share"),
        )
        .group_by(ranked.c.department)
        .order_by(ranked.c.department)
    )
    return {
        row.department: DepartmentLatency(
            requests=row.requests,
            answered=row.answered,
            mean_s=row.mean_s,
            p90_s=row.p90_s,
            within_sla_share=row.within_sla_share,
        )
        for row in rows
    }


def _request_latencies(request: ReportRequest) -> Subquery:
    """One row per collaboration request: department, latency (null if unanswered) and
    whether the reply came within the assignment's due time."""
    h = period_history(request, REQUESTED, ASSIGNED, REPLIED)
    marks = select(  # narrow rows, so the window sorts little
        h.c.complaint_id,
        h.c.version,
        h.c.type,
        h.c.payload["department"].as_string().label("department"),
        epoch_ms(h.c.occurred_at).label("at"),
        iso_epoch_ms(h.c.payload["due_at"].as_string()).label("due"),
    ).subquery()

    def lead(value: ColumnElement[Any], rows: int) -> ColumnElement[Any]:
        return func.lead(value, rows).over(
            partition_by=(marks.c.complaint_id, marks.c.department), order_by=marks.c.version
        )

    steps = select(
        marks.c.type,
        marks.c.department,
        marks.c.at.label("asked"),
        lead(marks.c.type, 1).label("next_type"),
        lead(marks.c.type, 2).label("after_type"),
        lead(marks.c.at, 1).label("next_at"),
        lead(marks.c.at, 2).label("after_at"),
        lead(marks.c.due, 1).label("due"),
    ).subquery()
    assigned = steps.c.next_type == ASSIGNED
    replied_at = case(
        (steps.c.next_type == REPLIED, steps.c.next_at),
        (and_(assigned, steps.c.after_type == REPLIED), steps.c.after_at),
    )
    latency = seconds(replied_at - steps.c.asked).label("latency")
    within = case((and_(assigned, replied_at <= steps.c.due), 1), else_=0).label("within")
    return select(steps.c.department, latency, within).where(steps.c.type == REQUESTED).subquery()


def _satisfied(h: FromClause) -> ColumnElement[bool]:
    """Reached and satisfied, as the contract reads a revisit: a missing `satisfied` is
    read from csat >= 4 (the workflow's reached_and_satisfied guard does the same)."""
    return and_(
        h.c.payload["reached"].as_boolean(),
        func.coalesce(h.c.payload["satisfied"].as_boolean(), h.c.payload["csat"].as_integer() >= 4),
    )


def survey_figures(connection: Connection, request: ReportRequest) -> AnyRow:
    """CSAT responses and mean; NPS: promoters (9-10) minus detractors (0-6) in percent of
    the revisits that gave a score. Every revisit answer counts once (a reopened complaint
    revisited again answers again)."""
    h = period_history(request, REVISITED)
    csat = h.c.payload["csat"].as_integer()
    nps = h.c.payload["nps"].as_integer()
    responses = func.count(nps)
    promoters_minus_detractors = count_where(nps >= 9) - count_where(nps <= 6)
    return connection.execute(
        select(
            func.count(csat).label("csat_responses"),
            mean(csat).label("csat_mean"),
            responses.label("nps_responses"),
            (ratio(promoters_minus_detractors, responses) * 100).label("nps"),
        )
    ).one()


def csat_distribution(connection: Connection, request: ReportRequest) -> dict[int, int]:
    """Answers per score 1..5 (every score present, 0 when nobody gave it)."""
    h = period_history(request, REVISITED)
    csat = h.c.payload["csat"].as_integer().label("csat")
    counts: dict[int, int] = dict(
        connection.execute(select(csat, func.count()).where(csat.is_not(None)).group_by(csat)).all()
    )
    return {score: counts.get(score, 0) for score in range(1, 6)}


def closed_loop(connection: Connection, request: ReportRequest) -> AnyRow:
    """Complaints resolved now whose customer, revisited after the last resolution, was
    reached and satisfied, and their share of the complaints resolved now. An unsatisfied
    revisit reopens the complaint, so only a satisfied revisit that follows the resolution
    that stands closes the loop."""
    h = history_t
    last = (
        select(
            h.c.complaint_id,
            func.max(case((h.c.type == RESOLVED, h.c.version))).label("resolved_v"),
            func.max(case((and_(h.c.type == REVISITED, _satisfied(h)), h.c.version))).label(
                "satisfied_v"
            ),
        )
        .where(h.c.type.in_((RESOLVED, REVISITED)))
        .group_by(h.c.complaint_id)
        .subquery()
    )
    c = period_complaints(request)
    closed = count_where(last.c.satisfied_v > last.c.resolved_v)
    return connection.execute(
        select(closed.label("closed"), ratio(closed, func.count()).label("rate"))
        .select_from(c.outerjoin(last, last.c.complaint_id == c.c.complaint_id))
        .where(is_resolved(c))
    ).one()


def low_score_follow_up(connection: Connection, request: ReportRequest) -> AnyRow:
    """Revisits that scored csat <= the workflow's low-score bound, and how many were followed
    by an agent.responded or complaint.resolved of the same complaint within the
    workflow's low-score window (48 h) of event time."""
    low = period_history(request, REVISITED)
    f = history_t.alias("follow_up")
    followed = exists().where(
        f.c.complaint_id == low.c.complaint_id,
        f.c.version > low.c.version,
        f.c.type.in_((RESPONDED, RESOLVED)),
        seconds_between(low.c.occurred_at, f.c.occurred_at)
        <= request.low_score_within.total_seconds(),
    )
    cases = func.count()
    done = count_where(followed)
    return connection.execute(
        select(
            cases.label("cases"),
            done.label("followed_up"),
            ratio(done, cases).label("share"),
        ).where(low.c.payload["csat"].as_integer() <= request.low_score_at_most)
    ).one()


def agent_load(connection: Connection, request: ReportRequest) -> list[AnyRow]:
    """Distinct complaints each agent (agent.responded's agent_id) answered, busiest first,
    with the number of agents and their mean load on every row (window aggregates)."""
    h = period_history(request, RESPONDED)
    agent = h.c.payload["agent_id"].as_string().label("agent")
    load = func.count(h.c.complaint_id.distinct())
    return list(
        connection.execute(
            select(
                agent,
                load.label("complaints"),
                func.count().over().label("agents"),
                cast(func.avg(load).over(), Float).label("mean_complaints"),
            )
            .group_by(agent)
            .order_by(load.desc(), agent)
        )
    )
