"""Named conditions that workflow transitions may require, and why each one refuses.

Guards are pure predicates over the complaint and the event; a workflow file refers to them
by name, and the reason of the last failing guard becomes the refusal's reason.
"""

from collections.abc import Callable
from dataclasses import dataclass

from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.events import (
    CollaborationRequested,
    CustomerRevisited,
    DepartmentReplied,
    Envelope,
)
from complaintflow.engine.core.vocabulary import Department, ReplyOutcome


@dataclass(frozen=True)
class Guard:
    holds: Callable[[Complaint, Envelope], bool]
    refusal: str


def _department(event: Envelope) -> Department | None:
    if isinstance(event, CollaborationRequested | DepartmentReplied):
        return event.payload.department
    return None


def _satisfied(event: Envelope) -> bool | None:
    """None when the customer was not reached; a missing `satisfied` is read from csat >= 4."""
    if not isinstance(event, CustomerRevisited) or not event.payload.reached:
        return None
    if event.payload.satisfied is not None:
        return event.payload.satisfied
    return event.payload.csat is not None and event.payload.csat >= 4


GUARDS: dict[str, Guard] = {
    "department_asked_for_evidence": Guard(
        lambda c, e: c.evidence_for is not None, "no department asked for this evidence"
    ),
    "department_is_open": Guard(
        lambda c, e: _department(e) in c.open_departments,
        "that department has no open collaboration request",
    ),
    "department_not_open": Guard(
        lambda c, e: _department(e) not in c.open_departments,
        "that department already has an open collaboration request",
    ),
    "reply_needs_evidence": Guard(
        lambda c, e: (
            isinstance(e, DepartmentReplied) and e.payload.outcome is ReplyOutcome.NEEDS_EVIDENCE
        ),
        "the reply does not ask for evidence",
    ),
    "other_departments_open": Guard(
        lambda c, e: bool(set(c.open_departments) - {_department(e)}),
        "no other department is still open",
    ),
    "reached_and_satisfied": Guard(lambda c, e: _satisfied(e) is True, "customer not satisfied"),
    "reached_not_satisfied": Guard(lambda c, e: _satisfied(e) is False, "customer satisfied"),
    "not_reached": Guard(
        lambda c, e: isinstance(e, CustomerRevisited) and not e.payload.reached,
        "customer was reached",
    ),
}
