"""Arming, pausing, resuming and re-budgeting SLA deadlines on business calendars.

Pausing keeps the working time that was left, not the instant that was due, so a complaint
that waits three days for the customer's photos resumes with the same budget it had.
"""

from datetime import datetime, timedelta

from complaintflow.engine.core.complaint import PAUSABLE, Complaint, Deadline
from complaintflow.engine.core.vocabulary import DeadlineName, Department
from complaintflow.engine.core.workflow import Workflow

LOW_SCORE_FOLLOW_UP = "revisit.low_score"
"""The supervisor's call-back after a low revisit score: a revisit deadline of its own."""


def arm(
    workflow: Workflow,
    *,
    name: DeadlineName,
    calendar: str,
    budget: timedelta,
    start: datetime,
    key: str | None = None,
    department: Department | None = None,
) -> Deadline:
    """A deadline `budget` of working time after `start`, warning at the configured fraction."""
    cal = workflow.calendar(calendar)
    fraction = workflow.definition.deadlines.warning_fraction
    return Deadline(
        key=key or name.value,
        name=name,
        calendar=calendar,
        budget=budget,
        department=department,
        due_at=cal.add(start, budget),
        warn_at=cal.add(start, budget * fraction),
    )


def put(deadlines: tuple[Deadline, ...], *new: Deadline) -> tuple[Deadline, ...]:
    """Replace deadlines with the same key, keeping order stable for deterministic output."""
    keys = {d.key for d in new}
    return tuple(d for d in deadlines if d.key not in keys) + new


def drop(deadlines: tuple[Deadline, ...], *keys: str) -> tuple[Deadline, ...]:
    return tuple(d for d in deadlines if d.key not in keys)


def drop_named(deadlines: tuple[Deadline, ...], *names: DeadlineName) -> tuple[Deadline, ...]:
    return tuple(d for d in deadlines if d.name not in names)


def pause(complaint: Complaint, workflow: Workflow, now: datetime) -> Complaint:
    """Stop the SLA clock (first response, handling) and the escalation ladder while the
    customer owes us something: nobody is escalated for the customer's silence."""
    if complaint.paused_since is not None:
        return complaint
    paused = []
    for d in complaint.deadlines:
        if d.name in PAUSABLE and not d.paused and not d.breached and d.due_at is not None:
            cal = workflow.calendar(d.calendar)
            d = d.model_copy(
                update={
                    "remaining": cal.working_time(now, d.due_at),
                    "warn_remaining": None
                    if d.warned or d.warn_at is None
                    else cal.working_time(now, d.warn_at),
                    "due_at": None,
                    "warn_at": None,
                }
            )
        paused.append(d)
    ladder = workflow.calendar(workflow.definition.escalation.calendar)
    waiting = complaint.next_escalation_at
    return complaint.model_copy(
        update={
            "paused_since": now,
            "deadlines": tuple(paused),
            "next_escalation_at": None,
            "escalation_remaining": None if waiting is None else ladder.working_time(now, waiting),
        }
    )


def resume(complaint: Complaint, workflow: Workflow, now: datetime) -> Complaint:
    """Restart the SLA clock with the working time each deadline had left when it paused."""
    if complaint.paused_since is None:
        return complaint
    resumed = []
    for d in complaint.deadlines:
        if d.paused and d.remaining is not None:
            cal = workflow.calendar(d.calendar)
            d = d.model_copy(
                update={
                    "due_at": cal.add(now, d.remaining),
                    "warn_at": None if d.warn_remaining is None else cal.add(now, d.warn_remaining),
                    "remaining": None,
                    "warn_remaining": None,
                }
            )
        resumed.append(d)
    ladder = workflow.calendar(workflow.definition.escalation.calendar)
    left = complaint.escalation_remaining
    return complaint.model_copy(
        update={
            "paused_since": None,
            "deadlines": tuple(resumed),
            "next_escalation_at": complaint.next_escalation_at
            if left is None
            else ladder.add(now, left),
            "escalation_remaining": None,
        }
    )


def rebudget(deadline: Deadline, budget: timedelta, workflow: Workflow, now: datetime) -> Deadline:
    """Keep the working time already used and give the deadline a new total budget."""
    if deadline.breached or deadline.budget == budget:
        return deadline
    cal = workflow.calendar(deadline.calendar)
    left = deadline.remaining if deadline.paused else cal.working_time(now, deadline.due_at or now)
    used = deadline.budget - (left or timedelta(0))
    new_left = max(budget - used, timedelta(0))
    new_warn_left = max(
        budget * workflow.definition.deadlines.warning_fraction - used, timedelta(0)
    )
    if deadline.paused:
        return deadline.model_copy(
            update={
                "budget": budget,
                "remaining": new_left,
                "warn_remaining": None if deadline.warned else new_warn_left,
            }
        )
    return deadline.model_copy(
        update={
            "budget": budget,
            "due_at": cal.add(now, new_left),
            "warn_at": None if deadline.warned else cal.add(now, new_warn_left),
        }
    )
