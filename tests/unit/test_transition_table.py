"""Every (state, event type) pair of the workflow file: allowed to the right state, or refused
with a reason that names the state and the event (ARCHITECTURE.md's transition table)."""

from datetime import timedelta

import pytest

from complaintflow.engine.bootstrap import load_workflow
from complaintflow.engine.core.decision import decide
from complaintflow.engine.core.events import INBOUND_TYPES
from complaintflow.engine.core.workflow import Workflow
from tests.support.builders import MONDAY_9, Story, event

T = MONDAY_9

# How to bring a complaint into each state: (type, payload or None for the example) steps.
ROUTES: dict[str, list[tuple[str, dict | None]]] = {
    "graded": [("complaint.received", None)],
    "responded": [("complaint.received", None), ("agent.responded", None)],
    "evidence": [
        ("complaint.received", None),
        ("agent.responded", None),
        ("evidence.requested", None),
    ],
    "collaboration": [
        ("complaint.received", None),
        ("agent.responded", None),
        ("collaboration.requested", {"department": "tech", "question": "Is the app broken?"}),
    ],
    "resolved": [
        ("complaint.received", None),
        ("agent.responded", None),
        ("complaint.resolved", None),
    ],
    "revisited": [
        ("complaint.received", None),
        ("agent.responded", None),
        ("complaint.resolved", None),
        ("customer.revisited", None),
    ],
    "archived": [
        ("complaint.received", None),
        ("agent.responded", None),
        ("complaint.resolved", None),
        ("complaint.archived", None),
    ],
}

# The architecture's table for the example payloads of tests/support/builders.py; absent = refused.
ALLOWED: dict[str, dict[str, str]] = {
    "received": {},
    "graded": {
        "agent.responded": "responded",
        "complaint.regraded": "graded",
        "complaint.escalated": "graded",
    },
    "responded": {
        "agent.responded": "responded",
        "evidence.requested": "evidence",
        "collaboration.requested": "collaboration",
        "complaint.regraded": "responded",
        "complaint.escalated": "responded",
        "complaint.resolved": "resolved",
    },
    "evidence": {
        "agent.responded": "evidence",
        "evidence.submitted": "responded",
        "collaboration.requested": "collaboration",
        "complaint.regraded": "evidence",
        "complaint.escalated": "evidence",
        "complaint.resolved": "resolved",
    },
    "collaboration": {
        "agent.responded": "collaboration",
        "evidence.requested": "evidence",
        "collaboration.requested": "collaboration",
        "department.replied": "responded",
        "complaint.regraded": "collaboration",
        "complaint.escalated": "collaboration",
        "complaint.resolved": "resolved",
    },
    "resolved": {
        "customer.revisited": "revisited",
        "complaint.reopened": "responded",
        "complaint.archived": "archived",
    },
    "revisited": {"complaint.reopened": "responded", "complaint.archived": "archived"},
    "archived": {},
}

STATES = load_workflow().definition.states
PAIRS = [(s, t) for s in STATES for t in INBOUND_TYPES if t != "timer.fired"]


def test_the_expectations_cover_every_state_of_the_workflow_file() -> None:
    assert set(ALLOWED) == set(STATES)


def in_state(workflow: Workflow, state: str) -> Story:
    story = Story(workflow)
    if state == "received":
        story.apply("complaint.received", T)
        assert story.complaint is not None
        story.complaint = story.complaint.model_copy(update={"state": "received"})
        return story
    for step, (type_, payload) in enumerate(ROUTES[state]):
        story.apply(type_, T + timedelta(minutes=step), payload)
    assert story.state == state
    return story


@pytest.mark.parametrize(("state", "event_type"), PAIRS)
def test_event_in_state_is_allowed_or_refused_with_a_reason(
    workflow: Workflow, state: str, event_type: str
) -> None:
    # Given a complaint in `state`
    story = in_state(workflow, state)
    # When an event of `event_type` arrives
    outcome = story.attempt(event_type, T + timedelta(hours=1))
    # Then it moves to the architecture's next state, or is refused naming state and event
    expected = ALLOWED[state].get(event_type)
    if expected is None:
        assert outcome.refusal is not None
        assert state in outcome.refusal.reason
        assert event_type in outcome.refusal.reason
        assert outcome.complaint is None and outcome.entries == ()
    else:
        assert outcome.refusal is None
        assert outcome.complaint is not None
        assert outcome.complaint.state == expected
        assert outcome.entries[0].type == event_type


@pytest.mark.parametrize("state", STATES)
def test_a_timer_that_no_longer_exists_changes_nothing(workflow: Workflow, state: str) -> None:
    story = in_state(workflow, state)
    stale = {"key": "first_response.breach", "due_at": "2020-01-01T00:00:00+00:00"}
    outcome = story.attempt("timer.fired", T + timedelta(hours=1), stale)
    assert outcome.refusal is None
    assert outcome.complaint is None
    assert outcome.entries == ()


def test_events_for_an_unknown_complaint_are_refused(workflow: Workflow) -> None:
    outcome = decide(None, event("agent.responded", complaint_id="C-404"), T, workflow)
    assert outcome.refusal is not None
    assert "C-404 does not exist" in outcome.refusal.reason
