"""The KPI report as a boundary message (ARCHITECTURE.md, "Contract: the KPI report"), and
what a report is asked for: the period and the targets read from the workflow.

Pure: the figures are computed by the store's queries (state_store/kpi_queries.py); this
module only says what they are called and how they are shaped, so the JSON output, the text
and the HTML renderings and GET /report all speak one vocabulary. Durations are seconds on
event time, shares are fractions 0..1, a figure without data is null.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, computed_field

from complaintflow.engine.core.workflow import Workflow

# Edges (seconds) of the first-response histogram; the workflow's target is added as an edge,
# so the bars up to it are exactly the responses within target.
HISTOGRAM_EDGES_S = (0, 60, 120, 180, 300, 600, 1800, 3600, 4 * 3600)
# The states of a complaint that is resolved now (not reopened since): the contract's names.
RESOLVED_STATES = ("resolved", "revisited", "archived")


def _rounded(digits: int) -> AfterValidator:
    """Averages and divisions done by different databases can differ in their last bits;
    rounding on construction makes both backends print and compare the same figures."""
    return AfterValidator(lambda value: round(value, digits))


Seconds = Annotated[float, _rounded(3)]
Share = Annotated[float, _rounded(4)]
Score = Annotated[float, _rounded(2)]


class Figures(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Period(Figures):
    """[since, until) on received_at; null = unbounded on that side."""

    since: AwareDatetime | None
    until: AwareDatetime | None


class Count(Figures):
    count: int
    share: Share | None


class Volume(Figures):
    total: int
    by_category: dict[str, Count]
    by_channel: dict[str, Count]
    by_day: dict[date, int]


class Bucket(Figures):
    """Complaints whose first response took more than from_s and at most to_s seconds (the
    first bucket also holds 0 and below); to_s null = no upper bound."""

    from_s: Seconds
    to_s: Seconds | None
    complaints: int


class FirstResponse(Figures):
    responded: int
    unanswered_missed: int
    """Never answered although the first-response deadline breached: misses of the share."""
    mean_s: Seconds | None
    p50_s: Seconds | None
    p90_s: Seconds | None
    target_s: Seconds
    within_target_share: Share | None
    histogram: list[Bucket]


class DurationStats(Figures):
    resolved: int
    mean_s: Seconds | None
    max_s: Seconds | None


class Handling(DurationStats):
    by_category: dict[str, DurationStats]


class Escalations(Figures):
    total: int
    by_level: dict[str, Count]
    by_cause: dict[str, Count]


class DepartmentLatency(Figures):
    requests: int
    answered: int
    mean_s: Seconds | None
    p90_s: Seconds | None
    within_sla_share: Share | None


class Csat(Figures):
    responses: int
    mean: Score | None
    distribution: dict[int, int]


class Agents(Figures):
    total: int
    mean_complaints: Score | None
    by_agent: dict[str, int]


class Counts(Figures):
    """The numerators and denominators behind the rates, so every share can be checked."""

    received: int
    resolved: int
    resolved_ever: int
    reopened: int
    overdue: int
    closed_loop: int
    nps_responses: int
    low_score_cases: int
    low_score_followed_up: int


class KpiReport(Figures):
    period: Period
    volume: Volume
    first_response: FirstResponse
    handling: Handling
    overdue_share: Share | None
    escalations: Escalations
    departments: dict[str, DepartmentLatency]
    resolution_rate: Share | None
    closed_loop_rate: Share | None
    csat: Csat
    nps: Score | None
    repeat_rate: Share | None
    low_score_revisited_48h_share: Share | None
    agents: Agents
    counts: Counts

    @computed_field  # type: ignore[prop-decorator]
    @property
    def slowest_department(self) -> str | None:
        """The department with the highest mean latency (ties: first by name)."""
        answered = [
            (-d.mean_s, name) for name, d in self.departments.items() if d.mean_s is not None
        ]
        return min(answered)[1] if answered else None


@dataclass(frozen=True)
class ReportRequest:
    """What to compute: the period and the workflow's targets (budgets are in the workflow
    file, not in the report, so changing a target needs no code change)."""

    since: datetime | None
    until: datetime | None
    timezone: ZoneInfo
    first_response_target: timedelta
    low_score_at_most: int
    low_score_within: timedelta

    @property
    def histogram_edges_s(self) -> tuple[float, ...]:
        target = self.first_response_target.total_seconds()
        return tuple(sorted({float(e) for e in HISTOGRAM_EDGES_S} | {target}))

    @property
    def day_offset(self) -> timedelta:
        """The UTC offset that cuts days: the zone's at `since` (else `until`, else 1970).
        One fixed offset keeps SQLite, which has no time-zone database, and PostgreSQL in
        agreement; it is exact for zones without daylight saving time such as Asia/Shanghai."""
        at = self.since or self.until or datetime(1970, 1, 1, tzinfo=self.timezone)
        return at.astimezone(self.timezone).utcoffset() or timedelta(0)


def report_request(
    workflow: Workflow, since: datetime | None = None, until: datetime | None = None
) -> ReportRequest:
    """Targets from the workflow: the strictest first-response budget is "the target" (3 min in
    the default workflow, the figure the service reports track); days and date-only bounds
    are in the time zone of the handling calendar (the business day)."""
    deadlines = workflow.definition.deadlines
    calendar = workflow.definition.calendars[deadlines.handling.calendar]
    budgets = deadlines.first_response
    return ReportRequest(
        since=since,
        until=until,
        timezone=ZoneInfo(calendar.timezone),
        first_response_target=min(budgets.P1, budgets.P2, budgets.P3, budgets.P4),
        low_score_at_most=deadlines.revisit.low_score_at_most,
        low_score_within=deadlines.revisit.low_score_within,
    )
