"""KPI figures of the answers complaints got, from the read model: departments' replies to
requests (one row per request), customers' scores at revisits (one row per scored answer)
and the agents who answered (one row per complaint and agent)."""

from sqlalchemy import Connection, Float, and_, cast, func, select

from complaintflow.engine.reporting.kpi import DepartmentLatency, ReportRequest
from complaintflow.state_store.kpi.sql import (
    AnyRow,
    count_where,
    in_period,
    mean,
    nearest_rank_s,
    ratio,
    seconds,
)
from complaintflow.state_store.tables import kpi_agents_t, kpi_requests_t, kpi_revisits_t

request_ = kpi_requests_t.c
revisit = kpi_revisits_t.c
agent = kpi_agents_t.c
CSAT_SCORES = range(1, 6)


def department_latency(
    connection: Connection, request: ReportRequest
) -> dict[str, DepartmentLatency]:
    """Requests, their latency to the reply (mean and p90 over the answered ones) and the
    share answered by the due time the engine set for them. A request never answered counts
    as not within SLA and has no latency."""
    period = in_period(kpi_requests_t, request)
    latency = seconds(request_.latency_ms)
    rows = connection.execute(
        select(
            request_.department,
            func.count().label("requests"),
            func.count(request_.latency_ms).label("answered"),
            mean(latency).label("mean_s"),
            ratio(count_where(request_.within), func.count()).label("within_sla_share"),
        )
        .where(*period)
        .group_by(request_.department)
        .order_by(request_.department)
    ).all()
    return {
        row.department: DepartmentLatency(
            requests=row.requests,
            answered=row.answered,
            mean_s=row.mean_s,
            p90_s=nearest_rank_s(
                connection,
                request_.latency_ms,
                [*period, request_.department == row.department],
                row.answered,
                90,
            ),
            within_sla_share=row.within_sla_share,
        )
        for row in rows
    }


def survey_figures(connection: Connection, request: ReportRequest) -> AnyRow:
    """CSAT responses, mean and answers per score (`csat_<score>`); NPS: promoters (9-10)
    minus detractors (0-6) in percent of the answers that gave a score; and the low scores
    (csat <= the workflow's bound) followed by an agent's response or a resolution within the
    workflow's window (48 h) of event time. Every revisit answer counts once (a reopened
    complaint revisited again answers again)."""
    responses = func.count(revisit.nps)
    promoters_minus_detractors = count_where(revisit.nps >= 9) - count_where(revisit.nps <= 6)
    low = revisit.csat <= request.low_score_at_most
    cases = count_where(low)
    within_ms = request.low_score_within.total_seconds() * 1000
    followed_up = count_where(and_(low, revisit.follow_up_ms <= within_ms))
    return connection.execute(
        select(
            func.count(revisit.csat).label("csat_responses"),
            mean(revisit.csat).label("csat_mean"),
            *[count_where(revisit.csat == score).label(f"csat_{score}") for score in CSAT_SCORES],
            responses.label("nps_responses"),
            (ratio(promoters_minus_detractors, responses) * 100).label("nps"),
            cases.label("low_score_cases"),
            followed_up.label("low_score_followed_up"),
            ratio(followed_up, cases).label("low_score_share"),
        ).where(*in_period(kpi_revisits_t, request))
    ).one()


def csat_distribution(survey: AnyRow) -> dict[int, int]:
    """Answers per score 1..5 (every score present, 0 when nobody gave it)."""
    return {score: getattr(survey, f"csat_{score}") for score in CSAT_SCORES}


def agent_load(connection: Connection, request: ReportRequest) -> list[AnyRow]:
    """Distinct complaints each agent answered, busiest first, with the number of agents and
    their mean load on every row (window aggregates over the groups)."""
    load = func.count()
    return list(
        connection.execute(
            select(
                agent.agent_id.label("agent"),
                load.label("complaints"),
                func.count().over().label("agents"),
                cast(func.avg(load).over(), Float).label("mean_complaints"),
            )
            .where(*in_period(kpi_agents_t, request))
            .group_by(agent.agent_id)
            .order_by(load.desc(), agent.agent_id)
        )
    )
