"""The KPI report from the store: every figure an aggregate over one table of the KPI read
model (state_store/kpi/read_model.py), all in one read snapshot.

No query returns more rows than there are categories, channels, days, departments, scores or
agents: the rows are aggregated by the database, so the report's cost grows with the store's
size on the database's side only. All queries run in one read transaction (REPEATABLE READ
on PostgreSQL, a WAL read snapshot on SQLite), so a report taken while workers write is
consistent with itself.
"""

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from complaintflow.engine.errors import StoreUnavailable
from complaintflow.engine.reporting.kpi import (
    Agents,
    Count,
    Counts,
    Csat,
    DurationStats,
    Escalations,
    FirstResponse,
    Handling,
    KpiReport,
    Period,
    ReportRequest,
    Volume,
)
from complaintflow.engine.reporting.read_model import CAUSE_COLUMNS, LEVEL_COLUMNS
from complaintflow.state_store.database import READ_ONLY, is_sqlite
from complaintflow.state_store.kpi import answers as kpi_answers
from complaintflow.state_store.kpi import complaints as kpi_complaints
from complaintflow.state_store.kpi.sql import AnyRow


def compute_report(engine: Engine, request: ReportRequest) -> KpiReport:
    snapshot = READ_ONLY if is_sqlite(engine) else {"isolation_level": "REPEATABLE READ"}
    try:
        with engine.connect().execution_options(**snapshot) as connection, connection.begin():
            return _report(connection, request)
    except OperationalError as exc:
        raise StoreUnavailable(f"database unreachable: {exc.orig}") from None


def _report(connection: Connection, request: ReportRequest) -> KpiReport:
    outcomes = kpi_complaints.complaint_figures(connection, request)
    categories = kpi_complaints.by_category(connection, request)
    survey = kpi_answers.survey_figures(connection, request)
    agents = kpi_answers.agent_load(connection, request)
    escalated, by_level = kpi_complaints.escalation_counts(outcomes, LEVEL_COLUMNS)
    _, by_cause = kpi_complaints.escalation_counts(outcomes, CAUSE_COLUMNS)
    return KpiReport(
        period=Period(since=request.since, until=request.until),
        volume=Volume(
            total=outcomes.received,
            by_category={r.name: Count(count=r.count, share=r.share) for r in categories},
            by_channel=kpi_complaints.by_channel(connection, request),
            by_day=kpi_complaints.by_day(connection, request),
        ),
        first_response=_first_response(connection, request, outcomes),
        handling=Handling(
            resolved=outcomes.resolved,
            mean_s=outcomes.handling_mean_s,
            max_s=outcomes.handling_max_s,
            by_category={
                r.name: DurationStats(resolved=r.resolved, mean_s=r.mean_s, max_s=r.max_s)
                for r in categories
                if r.resolved
            },
        ),
        overdue_share=outcomes.overdue_share,
        escalations=Escalations(total=escalated, by_level=by_level, by_cause=by_cause),
        departments=kpi_answers.department_latency(connection, request),
        resolution_rate=outcomes.resolution_rate,
        closed_loop_rate=outcomes.closed_loop_rate,
        csat=Csat(
            responses=survey.csat_responses,
            mean=survey.csat_mean,
            distribution=kpi_answers.csat_distribution(survey),
        ),
        nps=survey.nps,
        repeat_rate=outcomes.repeat_rate,
        low_score_revisited_48h_share=survey.low_score_share,
        agents=Agents(
            total=agents[0].agents if agents else 0,
            mean_complaints=agents[0].mean_complaints if agents else None,
            by_agent={r.agent: r.complaints for r in agents},
        ),
        counts=Counts(
            received=outcomes.received,
            resolved=outcomes.resolved,
            resolved_ever=outcomes.resolved_ever,
            reopened=outcomes.reopened,
            overdue=outcomes.overdue,
            closed_loop=outcomes.closed,
            nps_responses=survey.nps_responses,
            low_score_cases=survey.low_score_cases,
            low_score_followed_up=survey.low_score_followed_up,
        ),
    )


def _first_response(connection: Connection, request: ReportRequest, f: AnyRow) -> FirstResponse:
    return FirstResponse(
        responded=f.responded,
        unanswered_missed=f.unanswered_missed,
        mean_s=f.first_response_mean_s,
        p50_s=kpi_complaints.first_response_percentile(connection, request, f.responded, 50),
        p90_s=kpi_complaints.first_response_percentile(connection, request, f.responded, 90),
        target_s=request.first_response_target.total_seconds(),
        within_target_share=kpi_complaints.within_target_share(f, request),
        histogram=kpi_complaints.histogram(f, request),
    )
