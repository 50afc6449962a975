"""KPI figures of the answers complaints got, from the read model: departments' replies to
requests (one row per request), customers' scores at revisits (one row per scored answer)
and the agents who answered (one row per complaint and agent)."""

from sqlalchemy import Connection, Float, and_, case, cast, func, select

from complaintflow.engine.reporting.kpi import DepartmentLatency, ReportRequest
from complaintflow.state_store.kpi.sql import (
    AnyRow,
    count_where,
    in_period,
    mean,
    nearest_rank,
    ratio,
    seconds,
)
from complaintflow.state_store.tables import kpi_agents_t, kpi_requests_t, kpi_revisits_t


def department_latency(
    connection: Connection, request: ReportRequest
) -> dict[str, DepartmentLatency]:
    """Requests, their latency to the reply (mean and p90 over the answered ones) and the
    share answered by the due time the engine set for them. A request never answered counts
    as not within SLA and has no latency."""
    requests_q = in_period(kpi_requests_t, request)
    latency = seconds(requests_q.c.latency_ms)
    ranked = select(
        requests_q.c.department,
        requests_q.c.within,
        latency.label("latency"),
        func.row_number()
        .over(partition_by=requests_q.c.department, order_by=latency.nulls_last())
        .label("rn"),
        func.count(requests_q.c.latency_ms).over(partition_by=requests_q.c.department).label("n"),
    ).subquery()
    p90 = case((nearest_rank(ranked.c.rn, ranked.c.n, 90), ranked.c.latency))
    rows = connection.execute(
        select(
            ranked.c.department,
            func.count().label("requests"),
            func.count(ranked.c.latency).label("answered"),
            mean(ranked.c.latency).label("mean_s"),
            func.max(p90).label("p90_s"),
            ratio(count_where(ranked.c.within), func.count()).label("within_sla_share"),
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


def survey_figures(connection: Connection, request: ReportRequest) -> AnyRow:
    """CSAT responses and mean; NPS: promoters (9-10) minus detractors (0-6) in percent of
    the answers that gave a score; and the low scores (csat <= the workflow's bound) followed
    by an agent's response or a resolution within the workflow's window (48 h) of event time.
    Every revisit answer counts once (a reopened complaint revisited again answers again)."""
    v = in_period(kpi_revisits_t, request)
    responses = func.count(v.c.nps)
    promoters_minus_detractors = count_where(v.c.nps >= 9) - count_where(v.c.nps <= 6)
    low = v.c.csat <= request.low_score_at_most
    cases = count_where(low)
    within = request.low_score_within.total_seconds()
    followed_up = count_where(and_(low, seconds(v.c.follow_up_ms) <= within))
    return connection.execute(
        select(
            func.count(v.c.csat).label("csat_responses"),
            mean(v.c.csat).label("csat_mean"),
            responses.label("nps_responses"),
            (ratio(promoters_minus_detractors, responses) * 100).label("nps"),
            cases.label("low_score_cases"),
            followed_up.label("low_score_followed_up"),
            ratio(followed_up, cases).label("low_score_share"),
        )
    ).one()


def csat_distribution(connection: Connection, request: ReportRequest) -> dict[int, int]:
    """Answers per score 1..5 (every score present, 0 when nobody gave it)."""
    v = in_period(kpi_revisits_t, request)
    counts: dict[int, int] = dict(
        connection.execute(
            select(v.c.csat, func.count()).where(v.c.csat.is_not(None)).group_by(v.c.csat)
        ).all()
    )
    return {score: counts.get(score, 0) for score in range(1, 6)}


def agent_load(connection: Connection, request: ReportRequest) -> list[AnyRow]:
    """Distinct complaints each agent answered, busiest first, with the number of agents and
    their mean load on every row (window aggregates)."""
    a = in_period(kpi_agents_t, request)
    load = func.count()
    return list(
        connection.execute(
            select(
                a.c.agent_id.label("agent"),
                load.label("complaints"),
                func.count().over().label("agents"),
                cast(func.avg(load).over(), Float).label("mean_complaints"),
            )
            .group_by(a.c.agent_id)
            .order_by(load.desc(), a.c.agent_id)
        )
    )
