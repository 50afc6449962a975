"""The shape of a workflow file, validated on load so that mistakes surface before deploy.

A definition is data only; `workflows.machine` turns its transitions into a state machine
and `engine.business_time` turns its calendars into deadline arithmetic.
"""

from datetime import time, timedelta
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from complaintflow.engine.core.vocabulary import (
    Category,
    Channel,
    CustomerTier,
    Department,
    EscalationLevel,
    Priority,
)
from complaintflow.workflows.durations import Duration

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SAME_STATE = "="


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CalendarSpec(Strict):
    """Working time: `hours` on `workdays`, minus public holidays of `holidays` (a country code
    understood by the `holidays` package, whose make-up working weekends also count)."""

    timezone: str = "UTC"
    holidays: str | None = None
    workdays: list[Weekday] = list(WEEKDAYS)
    hours: list[tuple[time, time]] = [(time(0, 0), time(23, 59, 59, 999999))]

    @model_validator(mode="after")
    def _hours_are_ordered(self) -> Self:
        previous_end = time(0, 0)
        for start, end in self.hours:
            if not previous_end <= start < end:
                raise ValueError(
                    "hours must be ordered, non-overlapping [start, end] pairs within one day"
                )
            previous_end = end
        if not self.workdays:
            raise ValueError("a calendar needs at least one workday")
        return self


class TransitionSpec(Strict):
    trigger: str
    source: list[str]
    dest: str
    conditions: list[str] = []


class PriorityBudget(Strict):
    calendar: str
    P1: Duration
    P2: Duration
    P3: Duration
    P4: Duration

    def for_priority(self, priority: Priority) -> timedelta:
        budget: timedelta = getattr(self, priority.value)
        return budget


class DepartmentBudget(Strict):
    calendar: str
    default: Duration
    departments: dict[Department, Duration] = {}

    def for_department(self, department: Department) -> timedelta:
        return self.departments.get(department, self.default)


class EvidenceBudget(Strict):
    calendar: str
    customer: Duration
    department: Duration


class RevisitPolicy(Strict):
    """After resolution the customer is called back within `within`; an unreachable customer is
    tried again after `retry_after`, up to `max_attempts`, then the complaint is archived. A
    reopened complaint with csat <= `low_score_at_most` is followed up within `low_score_within`.

    The engine asks the survey/call-back service for each attempt with `revisit.requested`,
    `request_after` of working time (on `request_calendar`, the revisit calendar when unset)
    after the resolution or the unreached answer: on a business calendar, a complaint
    resolved in the evening is called back the next business morning."""

    calendar: str
    within: Duration
    retry_after: Duration
    max_attempts: Annotated[int, Field(ge=1)]
    low_score_at_most: Annotated[int, Field(ge=1, le=5)] = 2
    low_score_within: Duration
    low_score_calendar: str
    request_after: Duration = timedelta(0)
    request_calendar: str | None = None


class ArchivePolicy(Strict):
    """Quiet periods after which a complaint nobody touches is archived."""

    after_revisited: Duration
    after_resolved: Duration


class Deadlines(Strict):
    warning_fraction: Annotated[float, Field(gt=0, lt=1)]
    first_response: PriorityBudget
    handling: PriorityBudget
    collaboration: DepartmentBudget
    evidence: EvidenceBudget
    revisit: RevisitPolicy
    archive: ArchivePolicy


class AmountPoints(Strict):
    at_least: Decimal
    points: int


class KeywordPoints(Strict):
    """Points for a description that mentions any of `terms` (case-insensitive; a term of
    ASCII letters and digits as a whole word, any other anywhere), once per rule."""

    name: Annotated[str, Field(min_length=1, max_length=40)]
    points: int
    terms: Annotated[list[Annotated[str, Field(min_length=1, max_length=60)]], Field(min_length=1)]


class GradingRules(Strict):
    """Points from the complaint's traits; the first priority whose threshold the total reaches
    wins, P4 otherwise. Points rather than first-match rules, so traits add up: a VIP with a
    large refund on social media outranks any one of those alone."""

    category_points: dict[Category, int] = {}
    channel_points: dict[Channel, int] = {}
    tier_points: dict[CustomerTier, int] = {}
    amount_points: list[AmountPoints] = []
    repeat_points: int = 0
    keyword_points: list[KeywordPoints] = []
    thresholds: dict[Literal["P1", "P2", "P3"], int]


class Rung(Strict):
    level: EscalationLevel
    after: Duration


class EscalationLadder(Strict):
    """Rungs in order; `after` is the delay since the previous rung (the first: since breach)."""

    calendar: str
    ladder: Annotated[list[Rung], Field(min_length=1)]


class MergePolicy(Strict):
    """A complaint.received for the same customer and order within `window` of an open
    complaint's receipt is the same complaint, whatever the channel."""

    window: Duration


class WorkflowDefinition(Strict):
    name: str
    version: Annotated[int, Field(ge=1)]
    description: str = ""
    initial: str
    states: Annotated[list[str], Field(min_length=2)]
    final_states: list[str] = []
    transitions: list[TransitionSpec]
    calendars: dict[str, CalendarSpec]
    deadlines: Deadlines
    grading: GradingRules
    routing: dict[Category, Department]
    escalation: EscalationLadder
    merge: MergePolicy

    @model_validator(mode="after")
    def _references_exist(self) -> Self:
        known = set(self.states)
        problems: list[str] = []
        for name in [self.initial, *self.final_states]:
            if name not in known:
                problems.append(f"state {name!r} is not in states")
        for index, spec in enumerate(self.transitions):
            for source in spec.source:
                if source not in known:
                    problems.append(
                        f"transitions[{index}] ({spec.trigger}): unknown source state {source!r}"
                    )
            if spec.dest != SAME_STATE and spec.dest not in known:
                problems.append(
                    f"transitions[{index}] ({spec.trigger}): unknown dest state {spec.dest!r}"
                )
        for where, calendar in self._calendar_references():
            if calendar not in self.calendars:
                problems.append(f"{where}: unknown calendar {calendar!r}")
        missing = [c.value for c in Category if c not in self.routing]
        if missing:
            problems.append(f"routing: no department for categories {', '.join(missing)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _calendar_references(self) -> list[tuple[str, str]]:
        d = self.deadlines
        return [
            ("deadlines.first_response.calendar", d.first_response.calendar),
            ("deadlines.handling.calendar", d.handling.calendar),
            ("deadlines.collaboration.calendar", d.collaboration.calendar),
            ("deadlines.evidence.calendar", d.evidence.calendar),
            ("deadlines.revisit.calendar", d.revisit.calendar),
            ("deadlines.revisit.low_score_calendar", d.revisit.low_score_calendar),
            (
                "deadlines.revisit.request_calendar",
                d.revisit.request_calendar or d.revisit.calendar,
            ),
            ("escalation.calendar", self.escalation.calendar),
        ]
