"""Revisit requests: a resolved complaint asks the survey/call-back service to reach the
customer (`revisit.requested` on the event log and complaints.revisits), 30 working minutes
after the resolution on the default workflow's business calendar; an unreached customer gets
the next attempt up to the workflow's max attempts; a reached, reopened or archived
complaint gets none. Decided with explicit instants, no I/O."""

from datetime import datetime, timedelta

import pytest

from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from tests.support.builders import MONDAY_9, Story

T = MONDAY_9  # Mon 2025-07-14 09:00 Asia/Shanghai
PHONE = {
    "customer_id": "U7",
    "channel": "phone",
    "category": "logistics",
    "description": "parcel lost",
    "order_id": "O7",
}


def resolved(workflow: Workflow, at: datetime) -> Story:
    story = Story(workflow)
    story.apply("complaint.received", at - timedelta(minutes=30), PHONE)
    story.apply("agent.responded", at - timedelta(minutes=28))
    story.apply("complaint.resolved", at)
    return story


def request_at(story: Story) -> datetime | None:
    assert story.complaint is not None
    return story.complaint.revisit_request_at


def test_a_resolution_schedules_a_request_that_names_attempt_channel_and_due_time(
    workflow: Workflow,
) -> None:
    story = resolved(workflow, T + timedelta(hours=1))
    assert request_at(story) == T + timedelta(hours=1, minutes=30)
    outcome = story.fire("revisit.request")
    (entry,) = outcome.entries
    revisit_due = story.complaint.deadline("revisit").due_at  # type: ignore[union-attr]
    assert entry.type == "revisit.requested"
    assert entry.payload == {
        "attempt": 1,
        "due_at": revisit_due.isoformat(),  # type: ignore[union-attr]
        "channel": "phone",
        "customer_id": "U7",
    }
    assert entry.occurred_at == T + timedelta(hours=1, minutes=30)
    assert Topics("complaints").destinations(entry) == [
        "complaints.events",
        "complaints.revisits",
    ]
    assert request_at(story) is None


def test_a_complaint_resolved_after_hours_is_called_back_the_next_business_morning(
    workflow: Workflow,
) -> None:
    friday_evening = T + timedelta(days=4, hours=11)  # Fri 20:00
    story = resolved(workflow, friday_evening)
    assert request_at(story) == T + timedelta(days=7, minutes=30)  # Mon 09:30


def test_an_unreached_customer_gets_the_next_attempt_up_to_max_attempts(
    workflow: Workflow,
) -> None:
    story = resolved(workflow, T + timedelta(hours=1))
    attempts = []
    for n in range(1, 4):
        requested = story.fire("revisit.request")
        attempts.append(requested.entries[0].payload["attempt"])
        at = requested.entries[0].occurred_at + timedelta(hours=1)
        story.apply("customer.revisited", at, {"reached": False}, n=n)
    assert attempts == [1, 2, 3]
    # the third unreached answer archives the complaint: no fourth request
    assert story.state == "archived"
    assert request_at(story) is None
    assert "revisit.request" not in {t.key for t in story.complaint.timers}  # type: ignore[union-attr]


def test_the_next_attempt_is_asked_30_working_minutes_after_the_unreached_answer(
    workflow: Workflow,
) -> None:
    story = resolved(workflow, T + timedelta(hours=1))
    story.fire("revisit.request")
    story.apply("customer.revisited", T + timedelta(hours=2), {"reached": False})
    assert request_at(story) == T + timedelta(hours=2, minutes=30)


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("customer.revisited", {"reached": True, "satisfied": True, "csat": 5}),
        ("complaint.archived", {"reason": "closed"}),
        ("complaint.reopened", {"reason": "refund bounced"}),
    ],
)
def test_a_reached_archived_or_reopened_complaint_gets_no_request(
    workflow: Workflow, event: str, payload: dict[str, object]
) -> None:
    story = resolved(workflow, T + timedelta(hours=1))
    pending = story.complaint.timers  # type: ignore[union-attr]
    story.apply(event, T + timedelta(hours=1, minutes=10), payload)
    assert request_at(story) is None
    assert "revisit.request" not in {t.key for t in story.last.timers_set}  # type: ignore[union-attr]
    assert "revisit.request" in story.last.timers_cancelled  # type: ignore[union-attr]
    # and the stale firing of the cancelled timer changes nothing
    stale = next(t for t in pending if t.key == "revisit.request")
    late = story.attempt(
        "timer.fired",
        stale.due_at,
        {"key": "revisit.request", "due_at": stale.due_at.isoformat()},
    )
    assert late.entries == ()
