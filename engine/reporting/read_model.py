"""The KPI read model's rows, folded from a complaint's history: what the report needs to know
of each complaint, request, revisit answer and agent, so that every figure is an aggregate
over one narrow table instead of joins and windows over the whole event log.

Pure, and one fold for both of its callers: the unit of work folds the entries a batch writes
(in the batch's transaction), the migration folds each complaint's whole history, so live
upkeep and back-fill cannot disagree. A fold of later entries only adds to what an earlier
fold wrote: counts add up, a flag once set stays set, the last resolution or satisfied
revisit has the last word, and the first department row or follow-up of a later fold settles
what an earlier fold left open (`settled`, `follow_ups`).

Times are integers: `received_us` in microseconds, exact, so a period bound cuts where the
timestamp comparison cut; durations in whole milliseconds rounded half up from each instant,
as the report has always counted them on both backends.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from complaintflow.engine.core.vocabulary import (
    Channel,
    DeadlineName,
    EscalationCause,
    EscalationLevel,
    EventType,
)
from complaintflow.engine.reporting.kpi import RESOLVED_STATES

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CHANNELS = frozenset(Channel)
LEVEL_COLUMNS = {level.value: f"level_{level.value}" for level in EscalationLevel}
CAUSE_COLUMNS = {cause.value: f"cause_{cause.value}" for cause in EscalationCause}
_DEPARTMENT_ROWS = frozenset(
    {EventType.COLLABORATION_REQUESTED, EventType.ASSIGNMENT_CREATED, EventType.DEPARTMENT_REPLIED}
)
_FOLLOW_UPS = frozenset({EventType.AGENT_RESPONDED, EventType.COMPLAINT_RESOLVED})
FOLDED_TYPES = frozenset(
    {EventType.COMPLAINT_ESCALATED, EventType.SLA_BREACHED, EventType.CUSTOMER_REVISITED}
    | _DEPARTMENT_ROWS
    | _FOLLOW_UPS
)
"""The entry types the fold reads: a back-fill need not load the others (received, graded,
warnings...), whose payloads are the largest."""


def epoch_us(at: datetime) -> int:
    since = at - _EPOCH  # read field by field: a timedelta division is twice as slow
    return (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds


def epoch_ms(at: datetime) -> int:
    """Half up to the millisecond, as SQLite's julianday() and PostgreSQL's round() did, so a
    response at exactly 3 minutes is within target whatever its microseconds."""
    return (epoch_us(at) + 500) // 1000


def _at_ms(value: str | datetime | None) -> int | None:
    """A payload's time (ISO 8601 text with an offset once it is JSON)."""
    if value is None:
        return None
    return epoch_ms(value if isinstance(value, datetime) else datetime.fromisoformat(value))


def first_channel(channels: str) -> str:
    """The channel a complaint first came in on, from the comma-joined list the complaint row
    keeps (merged cross-channel duplicates follow it), so that they do not count twice."""
    first = channels.split(",", 1)[0]
    return first if first in _CHANNELS else channels


class Entry(Protocol):
    """A history row as the fold reads it: a `LogEntry` of a batch or a row of the table."""

    @property
    def complaint_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...


class ComplaintColumns(NamedTuple):
    """The complaint row's columns the read model copies (the aggregate keeps them current)."""

    complaint_id: str
    state: str
    category: str
    channels: str
    received_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    overdue: bool
    reopen_count: int


class Request(NamedTuple):
    """One collaboration.requested. Its reply is that department's next row on the complaint,
    or the one after the request's assignment.created; `awaiting` while it may still come."""

    complaint_id: str
    version: int
    department: str
    asked_ms: int
    due_ms: int | None
    latency_ms: int | None
    within: bool
    awaiting: bool


class Settlement(NamedTuple):
    """The first row of `department` in a fold: it answers (`replied_ms`) or closes unanswered
    the request an earlier fold left awaiting."""

    complaint_id: str
    department: str
    replied_ms: int | None


class Revisit(NamedTuple):
    """A customer.revisited that gave a score; `follow_up_ms` is the delay to the earliest
    agent.responded or complaint.resolved after it (negative when clocks disagree)."""

    complaint_id: str
    version: int
    csat: int | None
    nps: int | None
    revisited_ms: int
    follow_up_ms: int | None


@dataclass(slots=True)
class HistoryFacts:
    """A complaint's facts from its log. `closed_loop`: None until a resolution or a satisfied
    revisit is seen, then whether the last of them was the revisit."""

    first_response_breached: bool = False
    closed_loop: bool | None = None
    escalations: dict[str, int] = field(default_factory=dict)


@dataclass
class HistoryFold:
    facts: dict[str, HistoryFacts] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    settled: list[Settlement] = field(default_factory=list)
    revisits: list[Revisit] = field(default_factory=list)
    follow_ups: dict[str, int] = field(default_factory=dict)
    """Earliest follow-up time per complaint, for the revisits of earlier folds."""
    agents: set[tuple[str, str]] = field(default_factory=set)


def _satisfied(payload: Mapping[str, Any]) -> bool:
    """As the report has always read a revisit: a missing `satisfied` is csat >= 4."""
    satisfied = payload.get("satisfied")
    if satisfied is None:
        csat = payload.get("csat")
        satisfied = csat is not None and csat >= 4
    return payload.get("reached") is True and bool(satisfied)


class _Folding:
    def __init__(self) -> None:
        self.fold = HistoryFold()
        self.asked: dict[tuple[str, str], tuple[Request, bool]] = {}  # (request, assigned)
        self.seen_departments: set[tuple[str, str]] = set()
        self.revisits: dict[str, list[int]] = {}  # indexes into fold.revisits

    def entry(self, e: Entry) -> None:
        cid, kind, payload = e.complaint_id, e.type, e.payload
        facts = self.fold.facts.get(cid)
        if facts is None:
            facts = self.fold.facts[cid] = HistoryFacts()
        if kind in _DEPARTMENT_ROWS:
            self.department_row(e)
        elif kind == EventType.COMPLAINT_ESCALATED:
            level = LEVEL_COLUMNS.get(payload.get("level", ""))
            cause = CAUSE_COLUMNS.get(payload.get("cause", ""))
            for column in (level, cause):
                if column is not None:
                    facts.escalations[column] = facts.escalations.get(column, 0) + 1
        elif kind == EventType.SLA_BREACHED:
            if payload.get("deadline") == DeadlineName.FIRST_RESPONSE:
                facts.first_response_breached = True
        elif kind == EventType.CUSTOMER_REVISITED:
            if _satisfied(payload):
                facts.closed_loop = True
            if payload.get("csat") is not None or payload.get("nps") is not None:
                self.revisits.setdefault(cid, []).append(len(self.fold.revisits))
                at = epoch_ms(e.occurred_at)
                self.fold.revisits.append(
                    Revisit(cid, e.version, payload.get("csat"), payload.get("nps"), at, None)
                )
        if kind in _FOLLOW_UPS:
            self.follow_up(cid, epoch_ms(e.occurred_at))
            if kind == EventType.AGENT_RESPONDED:
                self.fold.agents.add((cid, payload["agent_id"]))
            else:
                facts.closed_loop = False

    def follow_up(self, cid: str, at: int) -> None:
        earliest = self.fold.follow_ups.get(cid)
        self.fold.follow_ups[cid] = at if earliest is None else min(earliest, at)
        revisits = self.fold.revisits
        for index in self.revisits.get(cid, ()):
            r = revisits[index]
            delay = at - r.revisited_ms
            if r.follow_up_ms is None or delay < r.follow_up_ms:
                revisits[index] = r._replace(follow_up_ms=delay)

    def department_row(self, e: Entry) -> None:
        key = (e.complaint_id, e.payload["department"])
        at = epoch_ms(e.occurred_at)
        if key not in self.seen_departments:
            self.seen_departments.add(key)
            replied = e.type == EventType.DEPARTMENT_REPLIED
            self.fold.settled.append(Settlement(*key, at if replied else None))
        open_request = self.asked.pop(key, None)
        if open_request is not None:
            request, assigned = open_request
            if e.type == EventType.ASSIGNMENT_CREATED and not assigned:
                due = _at_ms(e.payload.get("due_at"))
                self.asked[key] = (request._replace(due_ms=due), True)
                return
            if e.type == EventType.DEPARTMENT_REPLIED:
                within = request.due_ms is not None and at <= request.due_ms
                request = request._replace(latency_ms=at - request.asked_ms, within=within)
            self.fold.requests.append(request._replace(awaiting=False))
        if e.type == EventType.COLLABORATION_REQUESTED:
            request = Request(e.complaint_id, e.version, key[1], at, None, None, False, True)
            self.asked[key] = (request, False)

    def done(self) -> HistoryFold:
        self.fold.requests.extend(request for request, _ in self.asked.values())
        return self.fold


def fold_history(entries: Iterable[Entry]) -> HistoryFold:
    """Fold entries given in log order per complaint (complaints may interleave)."""
    folding = _Folding()
    for e in entries:
        folding.entry(e)
    return folding.done()


def complaint_row(c: ComplaintColumns, facts: HistoryFacts | None) -> dict[str, Any]:
    """The read model's row of a complaint: its columns as the report reads them, and the
    facts of the entries folded (those to add to what is stored, when it is an update)."""
    facts = facts or HistoryFacts()
    received_ms = epoch_ms(c.received_at)
    handling_ms = None  # only of a complaint resolved now, not of one reopened since
    if c.resolved_at is not None and c.state in RESOLVED_STATES:
        handling_ms = epoch_ms(c.resolved_at) - received_ms
    row = {
        "complaint_id": c.complaint_id,
        "received_us": epoch_us(c.received_at),
        "category": c.category,
        "channel": first_channel(c.channels),
        "first_response_ms": (
            None if c.first_response_at is None else epoch_ms(c.first_response_at) - received_ms
        ),
        "handling_ms": handling_ms,
        "resolved_ever": c.resolved_at is not None,
        "reopened": c.reopen_count > 0,
        "overdue": c.overdue,
        "first_response_breached": facts.first_response_breached,
        "closed_loop": facts.closed_loop,
    }
    for column in (*LEVEL_COLUMNS.values(), *CAUSE_COLUMNS.values()):
        row[column] = facts.escalations.get(column, 0)
    return row
