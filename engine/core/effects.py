"""What each applied inbound event does to a complaint beyond its state change: deadlines
armed and cleared, departments opened and closed, the SLA clock paused and resumed."""

from datetime import datetime

from complaintflow.engine.core import deadlines as dl
from complaintflow.engine.core.deadlines import LOW_SCORE_FOLLOW_UP
from complaintflow.engine.core.draft import Draft
from complaintflow.engine.core.escalation import escalate, escalate_once, hand_to_supervisor
from complaintflow.engine.core.events import (
    AgentResponded,
    CollaborationRequested,
    ComplaintArchived,
    ComplaintEscalated,
    ComplaintRegraded,
    ComplaintReopened,
    ComplaintResolved,
    CustomerRevisited,
    DepartmentReplied,
    Envelope,
    EvidenceRequested,
    EvidenceSubmitted,
)
from complaintflow.engine.core.grading import grade
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.core.payloads import (
    AssignmentCreatedPayload,
    ComplaintArchivedPayload,
    ComplaintGradedPayload,
)
from complaintflow.engine.core.vocabulary import (
    DeadlineName,
    Department,
    EscalationCause,
    EventType,
    EvidenceSource,
    ReplyOutcome,
)

UNREACHABLE_REASON = "customer_unreachable"


def apply_effects(draft: Draft, event: Envelope) -> None:
    """Called after the state change and the re-emitted event are recorded."""
    match event:
        case AgentResponded():
            _responded(draft, event)
        case EvidenceRequested():
            _await_evidence(draft, event.payload.requested_from, for_department=None)
        case EvidenceSubmitted():
            _evidence_arrived(draft)
        case CollaborationRequested():
            _open_department(draft, event.payload.department, event.payload.question)
        case DepartmentReplied():
            _department_replied(draft, event)
        case ComplaintRegraded():
            _regrade(draft, event)
        case ComplaintEscalated():
            escalate(draft, event.payload.level, event.payload.cause, record=False)
        case ComplaintResolved():
            _resolve(draft)
        case CustomerRevisited():
            _revisited(draft, event)
        case ComplaintReopened():
            _reopen(draft, csat=None)
        case ComplaintArchived():
            close_out(draft)


def _responded(draft: Draft, event: AgentResponded) -> None:
    """The first reply meets the first-response deadline; a reply while a low score awaits
    the supervisor's call-back is that call-back."""
    c = draft.complaint
    deadlines = dl.drop(c.deadlines, LOW_SCORE_FOLLOW_UP)
    if c.first_response_at is None:
        draft.update(
            first_response_at=event.occurred_at,
            deadlines=dl.drop_named(deadlines, DeadlineName.FIRST_RESPONSE),
        )
    elif deadlines != c.deadlines:
        draft.update(deadlines=deadlines)


def _await_evidence(
    draft: Draft, source: EvidenceSource, for_department: Department | None
) -> None:
    policy = draft.workflow.definition.deadlines.evidence
    budget = policy.customer if source is EvidenceSource.CUSTOMER else policy.department
    deadline = dl.arm(
        draft.workflow,
        name=DeadlineName.EVIDENCE,
        calendar=policy.calendar,
        budget=budget,
        start=draft.cause.occurred_at,
    )
    draft.update(
        evidence_from=source,
        evidence_for=for_department,
        deadlines=dl.put(draft.complaint.deadlines, deadline),
    )
    if source is EvidenceSource.CUSTOMER:
        draft.complaint = dl.pause(draft.complaint, draft.workflow, draft.cause.occurred_at)


def _evidence_arrived(draft: Draft) -> None:
    asked_by = draft.complaint.evidence_for
    draft.complaint = dl.resume(draft.complaint, draft.workflow, draft.cause.occurred_at)
    draft.update(
        evidence_from=None,
        evidence_for=None,
        deadlines=dl.drop_named(draft.complaint.deadlines, DeadlineName.EVIDENCE),
    )
    if asked_by is not None and draft.complaint.state == "collaboration":
        _open_department(draft, asked_by, "the evidence you asked for has been submitted")


def _open_department(draft: Draft, department: Department, question: str) -> None:
    policy = draft.workflow.definition.deadlines.collaboration
    deadline = dl.arm(
        draft.workflow,
        name=DeadlineName.COLLABORATION,
        key=f"collaboration.{department.value}",
        department=department,
        calendar=policy.calendar,
        budget=policy.for_department(department),
        start=draft.cause.occurred_at,
    )
    draft.update(
        open_departments=(*draft.complaint.open_departments, department),
        deadlines=dl.put(draft.complaint.deadlines, deadline),
    )
    assert deadline.due_at is not None
    draft.record_fact(
        EventType.ASSIGNMENT_CREATED,
        AssignmentCreatedPayload(department=department, question=question, due_at=deadline.due_at),
    )


def _department_replied(draft: Draft, event: DepartmentReplied) -> None:
    department = event.payload.department
    draft.update(
        open_departments=tuple(d for d in draft.complaint.open_departments if d != department),
        deadlines=dl.drop(draft.complaint.deadlines, f"collaboration.{department.value}"),
    )
    if event.payload.outcome is ReplyOutcome.NEEDS_EVIDENCE:
        _await_evidence(draft, EvidenceSource.CUSTOMER, for_department=department)
    elif event.payload.outcome is ReplyOutcome.REJECTED:
        escalate_once(draft, EscalationCause.DISPUTED_RESPONSIBILITY)


def _regrade(draft: Draft, event: ComplaintRegraded) -> None:
    priority = event.payload.priority
    sla = draft.workflow.definition.deadlines
    budgets = {DeadlineName.FIRST_RESPONSE: sla.first_response, DeadlineName.HANDLING: sla.handling}
    draft.update(
        priority=priority,
        deadlines=tuple(
            dl.rebudget(
                d, budgets[d.name].for_priority(priority), draft.workflow, draft.cause.occurred_at
            )
            if d.name in budgets
            else d
            for d in draft.complaint.deadlines
        ),
    )


def _resolve(draft: Draft) -> None:
    definition = draft.workflow.definition
    revisit = definition.deadlines.revisit
    at = draft.cause.occurred_at
    deadline = dl.arm(
        draft.workflow,
        name=DeadlineName.REVISIT,
        calendar=revisit.calendar,
        budget=revisit.within,
        start=at,
    )
    draft.update(
        resolved_at=at,
        paused_since=None,
        open_departments=(),
        evidence_from=None,
        evidence_for=None,
        next_escalation_at=None,
        escalation_remaining=None,
        revisit_attempts=0,
        revisit_request_at=revisit_request_at(draft),
        deadlines=(deadline,),
        archive_at=at + definition.deadlines.archive.after_resolved,
    )


def revisit_request_at(draft: Draft) -> datetime:
    """When to ask the call-back service for the next attempt: `request_after` of working
    time after what prompted it (the resolution, an unreached answer)."""
    revisit = draft.workflow.definition.deadlines.revisit
    calendar = draft.workflow.calendar(revisit.request_calendar or revisit.calendar)
    return calendar.add(draft.cause.occurred_at, revisit.request_after)


def _revisited(draft: Draft, event: CustomerRevisited) -> None:
    revisit = draft.workflow.definition.deadlines.revisit
    at = event.occurred_at
    if not event.payload.reached:
        attempts = draft.complaint.revisit_attempts + 1
        draft.update(revisit_attempts=attempts)
        if attempts >= revisit.max_attempts:
            archive(draft, UNREACHABLE_REASON)
            return
        retry = dl.arm(
            draft.workflow,
            name=DeadlineName.REVISIT,
            calendar=revisit.calendar,
            budget=revisit.retry_after,
            start=at,
        )
        draft.update(
            deadlines=dl.put(draft.complaint.deadlines, retry),
            revisit_request_at=revisit_request_at(draft),
        )
        return
    draft.update(revisit_request_at=None)
    if draft.complaint.state == "responded":
        _reopen(draft, csat=event.payload.csat)
        return
    draft.update(
        deadlines=dl.drop_named(draft.complaint.deadlines, DeadlineName.REVISIT),
        archive_at=at + draft.workflow.definition.deadlines.archive.after_revisited,
    )


def _reopen(draft: Draft, csat: int | None) -> None:
    """A repeat complaint: regraded with the repeat bonus, handling clock restarted."""
    definition = draft.workflow.definition
    c = draft.complaint
    graded = grade(
        definition.grading,
        category=c.category,
        channel=c.channels[0],
        tier=c.customer_tier,
        amount=c.amount,
        repeat=True,
        description=c.description,
    )
    priority = graded.priority
    at = draft.cause.occurred_at
    sla = definition.deadlines
    armed = [
        dl.arm(
            draft.workflow,
            name=DeadlineName.HANDLING,
            calendar=sla.handling.calendar,
            budget=sla.handling.for_priority(priority),
            start=at,
        )
    ]
    low_score = csat is not None and csat <= sla.revisit.low_score_at_most
    if low_score:
        armed.append(
            dl.arm(
                draft.workflow,
                name=DeadlineName.REVISIT,
                key=LOW_SCORE_FOLLOW_UP,
                calendar=sla.revisit.low_score_calendar,
                budget=sla.revisit.low_score_within,
                start=at,
            )
        )
    draft.update(
        priority=priority,
        reopen_count=c.reopen_count + 1,
        archive_at=None,
        revisit_request_at=None,
        deadlines=dl.put(dl.drop_named(c.deadlines, DeadlineName.REVISIT), *armed),
    )
    draft.record_fact(
        EventType.COMPLAINT_GRADED,
        ComplaintGradedPayload(priority=priority, department=c.department, reasons=graded.reasons),
    )
    if low_score:
        hand_to_supervisor(draft)


def close_out(draft: Draft) -> None:
    """An archived complaint waits for nothing: no deadline, no ladder, no archive timer."""
    draft.update(
        deadlines=(),
        next_escalation_at=None,
        escalation_remaining=None,
        archive_at=None,
        paused_since=None,
        revisit_request_at=None,
    )


def archive(draft: Draft, reason: str) -> None:
    """The engine's own complaint.archived, through the workflow's archive transition."""
    dest = draft.workflow.next_state(draft.complaint, EventType.COMPLAINT_ARCHIVED, draft.cause)
    if isinstance(dest, Refusal):
        return
    draft.update(state=dest)
    close_out(draft)
    draft.record_fact(EventType.COMPLAINT_ARCHIVED, ComplaintArchivedPayload(reason=reason))
