"""The decision function: (complaint, event, now) -> outcome. Pure: no I/O, no clock reads.

The processing loop, the replay command and the tests all decide through `decide`; it never
raises on valid envelopes, and refusals come back as values naming the state and the event.
"""

from datetime import datetime

from complaintflow.engine.core import deadlines as dl
from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.draft import Draft
from complaintflow.engine.core.effects import apply_effects
from complaintflow.engine.core.events import ComplaintReceived, InboundEvent, TimerFired
from complaintflow.engine.core.grading import grade, route
from complaintflow.engine.core.outcome import Outcome, Refusal, RefusalKind
from complaintflow.engine.core.payloads import ComplaintGradedPayload, ComplaintMergedPayload
from complaintflow.engine.core.timeouts import fire_timer
from complaintflow.engine.core.vocabulary import DeadlineName, EventType
from complaintflow.engine.core.workflow import Workflow


def decide(
    complaint: Complaint | None,
    event: InboundEvent,
    now: datetime,
    workflow: Workflow,
    merge_candidate: Complaint | None = None,
) -> Outcome:
    """Decide one event against the complaint it addresses (None if there is none yet).

    `merge_candidate` is an open complaint of the same customer and order that the caller
    found for a complaint.received; it is merged into when the workflow's window allows.
    """
    if isinstance(event, ComplaintReceived):
        if complaint is not None:
            return _refuse(
                RefusalKind.DUPLICATE_COMPLAINT,
                f"complaint.received not allowed in state {complaint.state}: "
                f"complaint {complaint.complaint_id} already exists",
            )
        if merge_candidate is not None and mergeable(merge_candidate, event, workflow):
            return _merge(merge_candidate, event, now, workflow)
        return _receive(event, now, workflow)
    if complaint is None:
        return _refuse(
            RefusalKind.UNKNOWN_COMPLAINT,
            f"{event.type} refused: complaint {event.complaint_id} does not exist "
            "(no complaint.received for it)",
        )
    if isinstance(event, TimerFired):
        return fire_timer(complaint, event, now, workflow)
    dest = workflow.next_state(complaint, event.type, event)
    if isinstance(dest, Refusal):
        return Outcome(refusal=dest)
    draft = Draft(complaint, complaint, event, now, workflow)
    draft.update(state=dest)
    draft.record_cause()
    apply_effects(draft, event)
    return draft.outcome()


def mergeable(candidate: Complaint, event: ComplaintReceived, workflow: Workflow) -> bool:
    """Same customer, same order, still open, received within the merge window."""
    definition = workflow.definition
    return (
        event.payload.order_id is not None
        and candidate.order_id == event.payload.order_id
        and candidate.customer_id == event.payload.customer_id
        and candidate.state not in definition.final_states
        and abs(event.occurred_at - candidate.received_at) <= definition.merge.window
    )


def _refuse(kind: RefusalKind, reason: str) -> Outcome:
    return Outcome(refusal=Refusal(kind=kind, reason=reason))


def _receive(event: ComplaintReceived, now: datetime, workflow: Workflow) -> Outcome:
    definition = workflow.definition
    p = event.payload
    graded = grade(
        definition.grading,
        category=p.category,
        channel=p.channel,
        tier=p.customer_tier,
        amount=p.amount,
        repeat=False,
        description=p.description,
    )
    priority = graded.priority
    department = route(definition, p.category)
    new = Complaint(
        complaint_id=event.complaint_id,
        workflow_version=definition.version,
        state=definition.initial,
        version=0,
        customer_id=p.customer_id,
        order_id=p.order_id,
        category=p.category,
        channels=(p.channel,),
        amount=p.amount,
        customer_tier=p.customer_tier,
        priority=priority,
        department=department,
        received_at=event.occurred_at,
        description=p.description,
    )
    draft = Draft(None, new, event, now, workflow)
    draft.record_cause()
    dest = workflow.next_state(new, EventType.COMPLAINT_GRADED, event)
    if isinstance(dest, Refusal):
        return Outcome(refusal=dest)
    sla = definition.deadlines
    draft.update(
        state=dest,
        deadlines=tuple(
            dl.arm(
                workflow,
                name=name,
                calendar=budget.calendar,
                budget=budget.for_priority(priority),
                start=event.occurred_at,
            )
            for name, budget in (
                (DeadlineName.FIRST_RESPONSE, sla.first_response),
                (DeadlineName.HANDLING, sla.handling),
            )
        ),
    )
    draft.record_fact(
        EventType.COMPLAINT_GRADED,
        ComplaintGradedPayload(priority=priority, department=department, reasons=graded.reasons),
    )
    return draft.outcome()


def _merge(
    target: Complaint, event: ComplaintReceived, now: datetime, workflow: Workflow
) -> Outcome:
    """Fold a second channel's report of the same complaint into the open one."""
    draft = Draft(target, target, event, now, workflow)
    channel = event.payload.channel
    if channel not in target.channels:
        draft.update(channels=(*target.channels, channel))
    draft.record_fact(
        EventType.COMPLAINT_MERGED,
        ComplaintMergedPayload(
            into=target.complaint_id, channel=channel, merged_id=event.complaint_id
        ),
    )
    return draft.outcome(merged_from=event.complaint_id)
