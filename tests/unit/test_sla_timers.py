"""Deadlines, warnings, breaches, the escalation ladder, pausing and archiving: every timer
kind decided with explicit instants (the injected clock), no I/O."""

from datetime import datetime, timedelta

from complaintflow.engine.core.decision import decide
from complaintflow.engine.core.events import LogEntry
from complaintflow.engine.core.workflow import Workflow
from tests.support.builders import MONDAY_9, Story, event

T = MONDAY_9  # Mon 2025-07-14 09:00 Asia/Shanghai
SOCIAL_VIP_REFUND = {
    "customer_id": "U1",
    "channel": "social",
    "category": "refund",
    "description": "public complaint",
    "order_id": "O1",
    "amount": "2500.00",
    "customer_tier": "vip",
}
QUIET_SIZING = {
    "customer_id": "U2",
    "channel": "web",
    "category": "sizing",
    "description": "too small",
    "order_id": "O2",
}


def responded(workflow: Workflow) -> Story:
    """Given a P4 complaint (sizing, web) received Monday 09:00 and answered at 09:02."""
    story = Story(workflow)
    story.apply("complaint.received", T, QUIET_SIZING)
    story.apply("agent.responded", T + timedelta(minutes=2))
    return story


def types(entries: tuple[LogEntry, ...]) -> list[str]:
    return [e.type for e in entries]


def timer(story: Story, key: str) -> datetime:
    assert story.complaint is not None
    return next(t.due_at for t in story.complaint.timers if t.key == key)


def test_receipt_grades_routes_and_arms_first_response_and_handling(workflow: Workflow) -> None:
    story = Story(workflow)
    outcome = story.apply("complaint.received", T, SOCIAL_VIP_REFUND)
    assert types(outcome.entries) == ["complaint.received", "complaint.graded"]
    assert [(e.version, e.state) for e in outcome.entries] == [(1, "received"), (2, "graded")]
    assert outcome.entries[1].payload == {
        "priority": "P1",
        "department": "finance",
        "reasons": ["category:refund", "channel:social", "tier:vip", "amount:>=2000"],
    }
    # P1 first response: 3 min on the 24x7 calendar, warning at 80 %
    assert timer(story, "first_response.warning") == T + timedelta(minutes=2, seconds=24)
    assert timer(story, "first_response.breach") == T + timedelta(minutes=3)
    # P1 handling: 2 working hours
    assert timer(story, "handling.breach") == T + timedelta(hours=2)
    assert {t.key for t in outcome.timers_set} == {
        "first_response.warning",
        "first_response.breach",
        "handling.warning",
        "handling.breach",
    }


def test_low_risk_complaint_gets_p4(workflow: Workflow) -> None:
    story = Story(workflow)
    outcome = story.apply("complaint.received", T, QUIET_SIZING)
    assert outcome.entries[1].payload == {
        "priority": "P4",
        "department": "warehouse",
        "reasons": [],
    }


def test_warning_then_breach_escalates_to_supervisor_for_overdue(workflow: Workflow) -> None:
    story = Story(workflow)
    story.apply("complaint.received", T, SOCIAL_VIP_REFUND)
    warning = story.fire("first_response.warning")
    assert types(warning.entries) == ["sla.warning"]
    assert warning.entries[0].payload["deadline"] == "first_response"
    assert warning.entries[0].payload["state"] == "graded"
    breach = story.fire("first_response.breach")
    assert types(breach.entries) == ["sla.breached", "complaint.escalated"]
    assert breach.entries[1].payload == {"level": "supervisor", "cause": "overdue"}
    assert story.complaint is not None and story.complaint.overdue
    # the ladder's next rung is 4 h later
    assert timer(story, "escalation") == T + timedelta(minutes=3, hours=4)


def test_ladder_climbs_to_manager_then_director_and_stops(workflow: Workflow) -> None:
    story = Story(workflow)
    story.apply("complaint.received", T, SOCIAL_VIP_REFUND)
    story.fire("first_response.breach")
    manager = story.fire("escalation")
    assert manager.entries[0].payload == {"level": "manager", "cause": "overdue"}
    director = story.fire("escalation")
    assert director.entries[0].payload == {"level": "director", "cause": "overdue"}
    assert story.complaint is not None
    assert "escalation" not in {t.key for t in story.complaint.timers}


def test_response_cancels_first_response_timers_and_their_firing_is_a_no_op(
    workflow: Workflow,
) -> None:
    story = Story(workflow)
    story.apply("complaint.received", T, SOCIAL_VIP_REFUND)
    due = timer(story, "first_response.breach")
    outcome = story.apply("agent.responded", T + timedelta(minutes=1))
    assert set(outcome.timers_cancelled) == {"first_response.warning", "first_response.breach"}
    late = story.attempt(
        "timer.fired",
        due,
        {"key": "first_response.breach", "due_at": due.isoformat()},
    )
    assert late.complaint is None and late.refusal is None


def test_evidence_from_the_customer_pauses_handling_and_resumes_with_the_same_budget(
    workflow: Workflow,
) -> None:
    story = responded(workflow)  # P4: handling 15 working hours
    # Given 1 working hour used, evidence is requested from the customer at 10:00
    paused = story.apply(
        "evidence.requested",
        T + timedelta(hours=1),
        {"items": ["photo"], "requested_from": "customer"},
    )
    assert "handling.breach" in paused.timers_cancelled
    assert story.complaint is not None and story.complaint.paused_since is not None
    # When the customer answers three calendar days later, Thursday 16:00
    resumed_at = T + timedelta(days=3, hours=7)
    story.apply("evidence.submitted", resumed_at)
    # Then 14 working hours remain: Thu 16-18 (2 h), Fri (7.5 h), Mon 9-12, 13:30-15:00
    assert timer(story, "handling.breach") == datetime(2025, 7, 21, 15, 0, tzinfo=T.tzinfo)
    assert story.complaint.paused_since is None


def test_evidence_from_a_department_does_not_pause(workflow: Workflow) -> None:
    story = responded(workflow)
    due = timer(story, "handling.breach")
    story.apply(
        "evidence.requested",
        T + timedelta(hours=1),
        {"items": ["pick list"], "requested_from": "department"},
    )
    assert timer(story, "handling.breach") == due
    assert timer(story, "evidence.breach") == T + timedelta(hours=5)


def test_expired_evidence_request_escalates_for_missing_evidence(workflow: Workflow) -> None:
    story = responded(workflow)
    story.apply("evidence.requested", T + timedelta(hours=1))
    breach = story.fire("evidence.breach")
    assert breach.entries[-1].payload == {"level": "supervisor", "cause": "missing_evidence"}


def test_collaboration_creates_an_assignment_with_the_departments_deadline(
    workflow: Workflow,
) -> None:
    story = responded(workflow)
    outcome = story.apply(
        "collaboration.requested",
        T + timedelta(minutes=10),
        {"department": "tech", "question": "App crash?"},
    )
    assert types(outcome.entries) == ["collaboration.requested", "assignment.created"]
    assignment = outcome.entries[1].payload
    assert assignment["department"] == "tech"
    # tech answers within 2 working hours: 09:10 + 2 h = 11:10
    assert assignment["due_at"] == "2025-07-14T11:10:00+08:00"
    warning = story.fire("collaboration.tech.warning")
    assert warning.entries[0].payload["department"] == "tech"


def test_a_rejecting_department_escalates_for_disputed_responsibility(workflow: Workflow) -> None:
    story = responded(workflow)
    story.apply("collaboration.requested", T + timedelta(minutes=5))
    outcome = story.apply(
        "department.replied",
        T + timedelta(hours=1),
        {"department": "logistics", "outcome": "rejected", "responsible_party": "carrier"},
    )
    assert types(outcome.entries) == ["department.replied", "complaint.escalated"]
    assert outcome.entries[1].payload == {
        "level": "supervisor",
        "cause": "disputed_responsibility",
    }


def test_department_asking_for_evidence_gets_it_back(workflow: Workflow) -> None:
    story = responded(workflow)
    story.apply("collaboration.requested", T + timedelta(minutes=5))
    story.apply(
        "department.replied",
        T + timedelta(hours=1),
        {"department": "logistics", "outcome": "needs_evidence"},
    )
    assert story.state == "evidence"
    outcome = story.apply("evidence.submitted", T + timedelta(hours=2))
    assert story.state == "collaboration"
    assert types(outcome.entries) == ["evidence.submitted", "assignment.created"]


def test_regrade_keeps_the_time_used_and_changes_the_budget(workflow: Workflow) -> None:
    story = responded(workflow)  # P4: 15 working hours
    story.apply("complaint.regraded", T + timedelta(hours=1), {"priority": "P1", "reason": "VIP"})
    # P1 has 2 working hours; one is used, so one is left from 10:00
    assert timer(story, "handling.breach") == T + timedelta(hours=2)


def test_revisit_loop_unreachable_customer_is_archived_after_max_attempts(
    workflow: Workflow,
) -> None:
    story = responded(workflow)
    story.apply("complaint.resolved", T + timedelta(hours=1))
    assert "revisit.breach" in {t.key for t in story.complaint.timers}  # type: ignore[union-attr]
    for attempt in range(1, 3):
        story.apply("customer.revisited", T + timedelta(hours=1 + attempt), {"reached": False})
        assert story.state == "resolved"
    last = story.apply("customer.revisited", T + timedelta(hours=5), {"reached": False})
    assert types(last.entries) == ["customer.revisited", "complaint.archived"]
    assert last.entries[1].payload == {"reason": "customer_unreachable"}
    assert story.state == "archived" and story.complaint.timers == ()  # type: ignore[union-attr]


def test_unsatisfied_low_score_revisit_reopens_as_repeat_with_48h_follow_up(
    workflow: Workflow,
) -> None:
    story = responded(workflow)
    story.apply("complaint.resolved", T + timedelta(hours=1))
    outcome = story.apply(
        "customer.revisited",
        T + timedelta(hours=3),
        {"reached": True, "satisfied": False, "csat": 1},
    )
    assert story.state == "responded"
    assert types(outcome.entries) == [
        "customer.revisited",
        "complaint.graded",
        "complaint.escalated",
    ]
    # sizing/web/regular is P4; the repeat bonus lifts it to P3
    assert outcome.entries[1].payload["priority"] == "P3"
    # the call-back is the supervisor's, and the ladder does not climb on time for it
    assert outcome.entries[2].payload == {"level": "supervisor", "cause": "other"}
    assert story.complaint is not None and story.complaint.reopen_count == 1
    assert story.complaint.next_escalation_at is None
    assert timer(story, "revisit.low_score.breach") == T + timedelta(hours=51)


def low_scored(workflow: Workflow) -> Story:
    """Given a resolved P4 complaint whose customer scored 1 and was unsatisfied at 12:00."""
    story = responded(workflow)
    story.apply("complaint.resolved", T + timedelta(hours=1))
    story.apply(
        "customer.revisited",
        T + timedelta(hours=3),
        {"reached": True, "satisfied": False, "csat": 1},
    )
    return story


def test_supervisor_call_back_meets_the_low_score_follow_up(workflow: Workflow) -> None:
    story = low_scored(workflow)
    story.apply("agent.responded", T + timedelta(hours=20), {"agent_id": "sup-1", "message": "hi"})
    assert story.complaint is not None
    assert not any(t.key.startswith("revisit.low_score") for t in story.complaint.timers)


def test_missed_low_score_call_back_breaches_and_climbs_to_the_manager(
    workflow: Workflow,
) -> None:
    story = low_scored(workflow)
    breach = story.fire("revisit.low_score.breach")
    assert types(breach.entries) == ["sla.breached", "complaint.escalated"]
    assert breach.entries[0].payload["deadline"] == "revisit"
    assert breach.entries[1].payload == {"level": "manager", "cause": "overdue"}


def test_quiet_period_archives_a_revisited_complaint(workflow: Workflow) -> None:
    story = responded(workflow)
    story.apply("complaint.resolved", T + timedelta(hours=1))
    story.apply("customer.revisited", T + timedelta(hours=3))
    assert timer(story, "archive") == T + timedelta(days=3, hours=3)
    outcome = story.fire("archive")
    assert types(outcome.entries) == ["complaint.archived"]
    assert outcome.entries[0].payload == {"reason": "quiet_period"}
    assert story.state == "archived"


def test_resolution_cancels_every_running_sla_timer(workflow: Workflow) -> None:
    story = Story(workflow)
    story.apply("complaint.received", T, SOCIAL_VIP_REFUND)
    story.fire("first_response.breach")
    story.apply("agent.responded", T + timedelta(minutes=5))
    outcome = story.apply("complaint.resolved", T + timedelta(hours=1))
    assert {"handling.breach", "escalation"} <= set(outcome.timers_cancelled)
    assert story.complaint is not None
    assert {t.key for t in story.complaint.timers} == {
        "revisit.request",
        "revisit.warning",
        "revisit.breach",
        "archive",
    }


def test_merge_folds_a_second_channel_into_the_open_complaint(workflow: Workflow) -> None:
    first = Story(workflow, "C-app")
    first.apply("complaint.received", T, QUIET_SIZING)
    second = Story(workflow, "C-phone")
    phone = event(
        "complaint.received",
        complaint_id="C-phone",
        at=T + timedelta(hours=1),
        payload={**QUIET_SIZING, "channel": "phone"},
    )
    outcome = decide(None, phone, phone.occurred_at, workflow, merge_candidate=first.complaint)
    assert outcome.merged_from == "C-phone"
    assert outcome.complaint is not None
    assert outcome.complaint.complaint_id == "C-app"
    assert outcome.complaint.channels == ("web", "phone")
    assert outcome.entries[0].type == "complaint.merged"
    assert outcome.entries[0].payload == {
        "into": "C-app",
        "channel": "phone",
        "merged_id": "C-phone",
    }
    assert second.complaint is None
    # outside the window it is a complaint of its own
    late = phone.model_copy(update={"occurred_at": T + timedelta(days=4)})
    separate = decide(None, late, late.occurred_at, workflow, merge_candidate=first.complaint)
    assert separate.merged_from is None
    assert separate.complaint is not None and separate.complaint.complaint_id == "C-phone"


def test_the_ladder_waits_while_the_customer_owes_evidence(workflow: Workflow) -> None:
    # Given a breached complaint on the first rung, the manager due 4 h later (09:03 + 4 h)
    story = Story(workflow)
    story.apply("complaint.received", T, SOCIAL_VIP_REFUND)
    story.fire("first_response.breach")
    story.apply("agent.responded", T + timedelta(minutes=5))
    assert timer(story, "escalation") == T + timedelta(hours=4, minutes=3)
    # When evidence is asked of the customer at 10:03, the ladder stops with 3 h left
    story.apply("evidence.requested", T + timedelta(hours=1, minutes=3))
    assert story.complaint is not None
    assert "escalation" not in {t.key for t in story.complaint.timers}
    # Then it resumes with those 3 h when the evidence arrives at 20:03
    story.apply("evidence.submitted", T + timedelta(hours=11, minutes=3))
    assert timer(story, "escalation") == T + timedelta(hours=14, minutes=3)
