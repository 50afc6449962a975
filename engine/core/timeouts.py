"""What a fired timer does: warn, breach and escalate, climb the ladder, or archive.

A timer is identified by its key and the instant it was armed for; a firing that matches no
pending timer (the complaint moved on, or the deadline was re-armed) changes nothing.
"""

from datetime import datetime

from complaintflow.engine.core.complaint import REVISIT_REQUEST, Complaint
from complaintflow.engine.core.deadlines import LOW_SCORE_FOLLOW_UP
from complaintflow.engine.core.draft import Draft
from complaintflow.engine.core.effects import archive
from complaintflow.engine.core.escalation import escalate, escalate_once, rung_above
from complaintflow.engine.core.events import TimerFired
from complaintflow.engine.core.outcome import Outcome
from complaintflow.engine.core.payloads import RevisitRequestedPayload, SlaPayload
from complaintflow.engine.core.vocabulary import DeadlineName, EscalationCause, EventType
from complaintflow.engine.core.workflow import Workflow

QUIET_PERIOD_REASON = "quiet_period"
_WARNING, _BREACH = ".warning", ".breach"


def fire_timer(
    complaint: Complaint, event: TimerFired, now: datetime, workflow: Workflow
) -> Outcome:
    key, due_at = event.payload.key, event.payload.due_at
    if complaint.pending_timers().get(key) != due_at:
        return Outcome()
    draft = Draft(complaint, complaint, event, now, workflow)
    if key == "archive":
        archive(draft, QUIET_PERIOD_REASON)
    elif key == "escalation":
        _climb(draft)
    elif key == REVISIT_REQUEST:
        _request_revisit(draft, due_at)
    elif key.endswith(_WARNING):
        _deadline_passed(draft, key.removesuffix(_WARNING), breach=False)
    elif key.endswith(_BREACH):
        _deadline_passed(draft, key.removesuffix(_BREACH), breach=True)
    return draft.outcome()


def _deadline_passed(draft: Draft, deadline_key: str, *, breach: bool) -> None:
    deadline = draft.complaint.deadline(deadline_key)
    if deadline is None or deadline.due_at is None:
        return
    updated = deadline.model_copy(update={"breached": True} if breach else {"warned": True})
    draft.update(
        deadlines=tuple(updated if d.key == deadline_key else d for d in draft.complaint.deadlines)
    )
    payload = SlaPayload(
        deadline=deadline.name,
        state=draft.complaint.state,
        due_at=deadline.due_at,
        department=deadline.department,
    )
    if not breach:
        draft.record_fact(EventType.SLA_WARNING, payload)
        return
    if deadline.name is DeadlineName.REVISIT:
        draft.record_fact(EventType.SLA_BREACHED, payload)
        if deadline_key == LOW_SCORE_FOLLOW_UP:
            _climb(draft, EscalationCause.OVERDUE)
        return
    draft.update(overdue=True)
    draft.record_fact(EventType.SLA_BREACHED, payload)
    cause = (
        EscalationCause.MISSING_EVIDENCE
        if deadline.name is DeadlineName.EVIDENCE
        else EscalationCause.OVERDUE
    )
    escalate_once(draft, cause)


def _request_revisit(draft: Draft, requested_at: datetime) -> None:
    """Ask the call-back service for the next attempt, due when the revisit deadline is. A
    complaint no longer waiting for a revisit (no revisit deadline: reached, reopened,
    archived, whatever the workflow's states are called) is asked about no more."""
    c = draft.complaint
    deadline = c.deadline(DeadlineName.REVISIT.value)
    if deadline is None:
        return
    due_at = deadline.due_at or requested_at
    draft.update(revisit_request_at=None)
    draft.record_fact(
        EventType.REVISIT_REQUESTED,
        RevisitRequestedPayload(
            attempt=c.revisit_attempts + 1,
            due_at=due_at,
            channel=c.channels[0],
            customer_id=c.customer_id,
        ),
    )


def _climb(draft: Draft, cause: EscalationCause | None = None) -> None:
    """One rung up, for the complaint's standing cause unless a new one is given."""
    c = draft.complaint
    following = rung_above(draft.workflow.definition.escalation.ladder, c.escalation_level)
    if following is None:
        draft.update(next_escalation_at=None)
        return
    escalate(
        draft,
        following.level,
        cause or c.escalation_cause or EscalationCause.OVERDUE,
        record=True,
    )
