"""The escalation ladder: which rung comes next and when."""

from complaintflow.engine.core.draft import Draft
from complaintflow.engine.core.payloads import ComplaintEscalatedPayload
from complaintflow.engine.core.vocabulary import EscalationCause, EscalationLevel, EventType
from complaintflow.workflows.definition import Rung

_ORDER = list(EscalationLevel)


def rung_above(ladder: list[Rung], level: EscalationLevel | None) -> Rung | None:
    """The first rung strictly above `level` (the bottom rung when not escalated yet)."""
    floor = -1 if level is None else _ORDER.index(level)
    return next((r for r in ladder if _ORDER.index(r.level) > floor), None)


def escalate(draft: Draft, level: EscalationLevel, cause: EscalationCause, *, record: bool) -> None:
    """Move to `level` (never down), schedule the next rung, and record the fact if asked.

    `record` is False when the inbound complaint.escalated itself is the record.
    """
    current = draft.complaint.escalation_level
    if current is not None and _ORDER.index(current) >= _ORDER.index(level):
        level = current
    definition = draft.workflow.definition
    following = rung_above(definition.escalation.ladder, level)
    next_at = (
        None
        if following is None
        else draft.workflow.calendar(definition.escalation.calendar).add(draft.now, following.after)
    )
    draft.update(escalation_level=level, escalation_cause=cause, next_escalation_at=next_at)
    if record:
        draft.record_fact(
            EventType.COMPLAINT_ESCALATED, ComplaintEscalatedPayload(level=level, cause=cause)
        )


def escalate_once(draft: Draft, cause: EscalationCause) -> None:
    """Put a complaint on the bottom rung unless it is already on the ladder."""
    if draft.complaint.escalation_level is not None:
        return
    bottom = rung_above(draft.workflow.definition.escalation.ladder, None)
    if bottom is not None:
        escalate(draft, bottom.level, cause, record=True)


def hand_to_supervisor(draft: Draft) -> None:
    """A low score is the supervisor's to call back: the complaint moves to the supervisor
    rung (cause `other`) but the ladder does not climb on time; only a missed call-back,
    breaching its own deadline, climbs further."""
    current = draft.complaint.escalation_level
    if current is not None and _ORDER.index(current) >= _ORDER.index(EscalationLevel.SUPERVISOR):
        return
    draft.update(
        escalation_level=EscalationLevel.SUPERVISOR, escalation_cause=EscalationCause.OTHER
    )
    draft.record_fact(
        EventType.COMPLAINT_ESCALATED,
        ComplaintEscalatedPayload(level=EscalationLevel.SUPERVISOR, cause=EscalationCause.OTHER),
    )
