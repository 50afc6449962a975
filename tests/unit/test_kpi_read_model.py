"""The KPI read model's fold: what one complaint's history entries say, and what a later fold
settles of what an earlier one left open (a reply to a request, a follow-up to a low score)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from complaintflow.engine.reporting.read_model import (
    ComplaintColumns,
    HistoryFacts,
    Request,
    Revisit,
    Settlement,
    complaint_row,
    epoch_ms,
    fold_history,
)

T0 = datetime(2025, 7, 14, 1, 0, tzinfo=UTC)
T0_MS = epoch_ms(T0)


@dataclass(frozen=True)
class Entry:
    version: int
    type: str
    minutes: float
    payload: dict[str, Any] = field(default_factory=dict)
    complaint_id: str = "C1"

    @property
    def occurred_at(self) -> datetime:
        return T0 + timedelta(minutes=self.minutes)


def at_ms(minutes: float) -> int:
    return T0_MS + int(minutes * 60_000)


def asked(version: int, minutes: float, department: str = "tech") -> list[Entry]:
    due = (T0 + timedelta(hours=2)).isoformat()
    return [
        Entry(version, "collaboration.requested", minutes, {"department": department}),
        Entry(
            version + 1, "assignment.created", minutes, {"department": department, "due_at": due}
        ),
    ]


def replied(version: int, minutes: float, department: str = "tech") -> Entry:
    return Entry(version, "department.replied", minutes, {"department": department})


def test_a_reply_in_the_same_fold_gives_the_request_its_latency_and_sla() -> None:
    fold = fold_history([*asked(3, 10), replied(5, 70), *asked(6, 80), replied(8, 300)])
    assert fold.requests == [
        Request("C1", 3, "tech", at_ms(10), at_ms(120), 60 * 60_000, True, False),
        Request("C1", 6, "tech", at_ms(80), at_ms(120), 220 * 60_000, False, False),
    ]
    # the fold's first tech row settles nothing an earlier fold left open: it is a request
    assert fold.settled == [Settlement("C1", "tech", None)]


def test_a_reply_in_a_later_fold_settles_the_request_an_earlier_fold_left_awaiting() -> None:
    earlier = fold_history(asked(3, 10))
    later = fold_history([replied(5, 70)])
    assert earlier.requests == [Request("C1", 3, "tech", at_ms(10), at_ms(120), None, False, True)]
    assert later.requests == [] and later.settled == [Settlement("C1", "tech", at_ms(70))]


def test_a_request_followed_by_another_is_closed_unanswered() -> None:
    fold = fold_history([*asked(3, 10), *asked(5, 20), replied(7, 30)])
    assert [(r.version, r.latency_ms, r.awaiting) for r in fold.requests] == [
        (3, None, False),
        (5, 10 * 60_000, False),
    ]


def test_a_low_score_is_followed_up_in_its_fold_and_later_ones_are_passed_on() -> None:
    low = {"reached": True, "satisfied": False, "csat": 1, "nps": 2}
    fold = fold_history(
        [
            Entry(5, "customer.revisited", 100, low),
            Entry(6, "agent.responded", 160, {"agent_id": "A1"}),
            Entry(7, "agent.responded", 130, {"agent_id": "A2"}),  # an earlier clock
        ]
    )
    assert fold.revisits == [Revisit("C1", 5, 1, 2, at_ms(100), 30 * 60_000)]
    assert fold.follow_ups == {"C1": at_ms(130)}
    assert fold.agents == {("C1", "A1"), ("C1", "A2")}


def test_the_last_resolution_or_satisfied_revisit_decides_the_closed_loop() -> None:
    satisfied = {"reached": True, "csat": 4}  # no `satisfied`: csat >= 4 reads as satisfied
    resolved = Entry(4, "complaint.resolved", 50, {"resolution": "refund"})
    closed = fold_history([resolved, Entry(5, "customer.revisited", 60, satisfied)])
    reopened = fold_history([Entry(8, "complaint.resolved", 90, {"resolution": "refund"})])
    unreached = fold_history([Entry(9, "customer.revisited", 95, {"reached": False})])
    assert closed.facts["C1"].closed_loop is True
    assert reopened.facts["C1"].closed_loop is False
    assert unreached.facts["C1"].closed_loop is None and unreached.revisits == []


def test_escalations_count_per_level_and_cause_and_a_first_response_breach_is_kept() -> None:
    fold = fold_history(
        [
            Entry(2, "complaint.escalated", 3, {"level": "supervisor", "cause": "overdue"}),
            Entry(3, "complaint.escalated", 9, {"level": "supervisor", "cause": "other"}),
            Entry(4, "sla.breached", 3, {"deadline": "handling"}),
            Entry(5, "sla.breached", 3, {"deadline": "first_response"}),
        ]
    )
    assert fold.facts["C1"] == HistoryFacts(
        first_response_breached=True,
        escalations={"level_supervisor": 2, "cause_overdue": 1, "cause_other": 1},
    )


def test_the_complaint_row_keeps_handling_only_while_resolved_and_rounds_half_up() -> None:
    received = T0 + timedelta(microseconds=499)  # 0.499 ms: rounds down
    responded = T0 + timedelta(minutes=3, microseconds=500)  # 180,000.5 ms: rounds up
    columns = ComplaintColumns(
        "C1",
        "resolved",
        "refund",
        "chat,app",
        received,
        responded,
        T0 + timedelta(hours=1),
        overdue=False,
        reopen_count=0,
    )
    row = complaint_row(columns, None)
    assert (row["first_response_ms"], row["handling_ms"]) == (180_001, 3_600_000)
    assert row["channel"] == "chat" and row["level_manager"] == 0
    reopened = complaint_row(columns._replace(state="responded", reopen_count=1), None)
    assert reopened["handling_ms"] is None and reopened["resolved_ever"] and reopened["reopened"]
