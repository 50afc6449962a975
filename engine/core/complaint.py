"""The complaint aggregate: everything a decision needs to know about one complaint.

It is a frozen value; a decision returns a new one. Timers are not stored separately: they
are derived from the deadlines and schedules held here (`timers`), so the set of pending
timers can never disagree with the state that explains them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from complaintflow.engine.core.vocabulary import (
    Category,
    Channel,
    CustomerTier,
    DeadlineName,
    Department,
    EscalationCause,
    EscalationLevel,
    EvidenceSource,
    Priority,
)

PAUSABLE = frozenset({DeadlineName.FIRST_RESPONSE, DeadlineName.HANDLING})
REVISIT_REQUEST = "revisit.request"  # the timer that asks the call-back service


@dataclass(frozen=True, slots=True)
class Timer:
    """A pending wake-up: `key` is unique within a complaint; `due_at` identifies the arming.

    A plain dataclass: timers are derived on every decision, and never cross a boundary alone.
    """

    key: str
    due_at: datetime


class Deadline(BaseModel):
    """A running SLA deadline. While paused, `due_at`/`warn_at` are None and the working time
    that was left is kept in `remaining`/`warn_remaining`."""

    model_config = ConfigDict(frozen=True)

    key: str
    name: DeadlineName
    calendar: str
    budget: timedelta
    due_at: datetime | None
    warn_at: datetime | None
    department: Department | None = None
    remaining: timedelta | None = None
    warn_remaining: timedelta | None = None
    warned: bool = False
    breached: bool = False

    @property
    def paused(self) -> bool:
        return self.due_at is None


class Complaint(BaseModel):
    model_config = ConfigDict(frozen=True)

    complaint_id: str
    workflow_version: int
    state: str
    version: int
    customer_id: str
    order_id: str | None
    category: Category
    channels: tuple[Channel, ...]
    amount: Decimal | None
    customer_tier: CustomerTier
    priority: Priority
    department: Department
    received_at: datetime
    # kept so a reopened complaint is regraded by its words as it was at first
    description: str = ""
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    escalation_level: EscalationLevel | None = None
    escalation_cause: EscalationCause | None = None
    next_escalation_at: datetime | None = None
    escalation_remaining: timedelta | None = None
    open_departments: tuple[Department, ...] = ()
    evidence_from: EvidenceSource | None = None
    evidence_for: Department | None = None
    paused_since: datetime | None = None
    deadlines: tuple[Deadline, ...] = ()
    archive_at: datetime | None = None
    revisit_attempts: int = 0
    revisit_request_at: datetime | None = None
    reopen_count: int = 0
    overdue: bool = False

    def deadline(self, key: str) -> Deadline | None:
        return next((d for d in self.deadlines if d.key == key), None)

    def pending_timers(self) -> dict[str, datetime]:
        """Every pending timer's due time by its key, derived from deadlines, the escalation
        ladder, the revisit request and archiving: what a decision compares before and after
        (keys are unique within a complaint)."""
        timers: dict[str, datetime] = {}
        for d in self.deadlines:
            if d.warn_at is not None and not d.warned:
                timers[f"{d.key}.warning"] = d.warn_at
            if d.due_at is not None and not d.breached:
                timers[f"{d.key}.breach"] = d.due_at
        if self.next_escalation_at is not None:
            timers["escalation"] = self.next_escalation_at
        if self.revisit_request_at is not None:
            timers[REVISIT_REQUEST] = self.revisit_request_at
        if self.archive_at is not None:
            timers["archive"] = self.archive_at
        return timers

    @property
    def timers(self) -> tuple[Timer, ...]:
        """Every pending timer, as values."""
        return tuple(Timer(key=key, due_at=due_at) for key, due_at in self.pending_timers().items())
