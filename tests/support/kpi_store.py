"""Given-helper: a store holding a known set of complaints, written row by row, so that every
KPI can be computed by hand (the expected figures are in test_report.py).

Rows are inserted directly rather than produced by the engine: the report is a query over
the store, and a hand-written log keeps the expected figures independent of how the engine's
timers and ladders evolve. The KPI read model is then back-filled from them, as migration 0005
fills it for a store written before it. The aggregate JSON is not read by the report and is
left "{}".
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from sqlalchemy import insert

from complaintflow.state_store.database import open_engine
from complaintflow.state_store.kpi.read_model import back_fill
from complaintflow.state_store.tables import complaints_t, history_t

CST = timezone(timedelta(hours=8))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in July 2025, Asia/Shanghai."""
    return datetime(2025, 7, day, hour, minute, tzinfo=CST)


@dataclass
class Complaint:
    complaint_id: str
    category: str
    channels: str
    received_at: datetime
    state: str = "graded"
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    overdue: bool = False
    reopen_count: int = 0
    log: list[tuple[str, datetime, dict[str, Any], str]] = field(default_factory=list)

    def then(self, type_: str, when: datetime, payload: dict[str, Any], state: str) -> "Complaint":
        self.log.append((type_, when, payload, state))
        return self

    def asks(self, when: datetime, department: str, due: str) -> "Complaint":
        """collaboration.requested and the engine's assignment.created with its due_at."""
        question = {"department": department, "question": "who is responsible?"}
        self.then("collaboration.requested", when, question, "collaboration")
        return self.then("assignment.created", when, {**question, "due_at": due}, "collaboration")


def received(cid: str, category: str, channels: str, when: datetime) -> Complaint:
    c = Complaint(cid, category, channels, when)
    first = channels.split(",")[0]
    payload = {"customer_id": f"U-{cid}", "channel": first, "category": category}
    c.then("complaint.received", when, {**payload, "description": "x"}, "received")
    return c.then("complaint.graded", when, {"priority": "P3", "department": "finance"}, "graded")


def responded(agent: str) -> dict[str, Any]:
    return {"agent_id": agent, "message": "on it"}


def replied(department: str) -> dict[str, Any]:
    return {"department": department, "outcome": "accepted"}


def escalated(level: str, cause: str) -> dict[str, Any]:
    return {"level": level, "cause": cause}


def revisit(
    reached: bool, satisfied: bool | None, csat: int | None, nps: int | None
) -> dict[str, Any]:
    return {"reached": reached, "satisfied": satisfied, "csat": csat, "nps": nps}


RESOLVED = {"resolution": "refund"}


def known_complaints() -> list[Complaint]:
    """Six complaints received on Monday 2025-07-14 and one on Wednesday 2025-07-16."""
    c1 = (
        received("C1", "refund", "app", at(14, 9))
        .then("agent.responded", at(14, 9, 2), responded("A1"), "responded")
        .asks(at(14, 9, 10), "finance", "2025-07-14T14:40:00+08:00")
        .then("department.replied", at(14, 10, 10), replied("finance"), "responded")
        .asks(at(14, 10, 20), "finance", "2025-07-14T15:50:00+08:00")
        .then("department.replied", at(14, 10, 50), replied("finance"), "responded")
        .then("complaint.resolved", at(14, 11), RESOLVED, "resolved")
        .then("customer.revisited", at(14, 15), revisit(True, True, 5, 10), "revisited")
    )
    c1.state, c1.first_response_at, c1.resolved_at = "revisited", at(14, 9, 2), at(14, 11)
    c2 = (
        received("C2", "refund", "phone", at(14, 10))
        .then("sla.breached", at(14, 10, 3), {"deadline": "first_response"}, "graded")
        .then("complaint.escalated", at(14, 10, 3), escalated("supervisor", "overdue"), "graded")
        .then("agent.responded", at(14, 10, 5), responded("A2"), "responded")
        .asks(at(14, 10, 10), "logistics", "2025-07-14T14:40:00+08:00")
        .asks(at(14, 10, 20), "tech", "2025-07-14T13:50:00+08:00")
        .then(
            "complaint.escalated", at(14, 14, 3), escalated("manager", "overdue"), "collaboration"
        )
        .then("department.replied", at(14, 14, 20), replied("tech"), "collaboration")
        .then("complaint.resolved", at(14, 16), RESOLVED, "resolved")
        .then("customer.revisited", at(14, 17), revisit(True, False, 2, 3), "responded")
        .then(
            "complaint.graded", at(14, 17), {"priority": "P2", "department": "finance"}, "responded"
        )
        .then("agent.responded", at(14, 18), responded("A1"), "responded")
    )
    c2.state, c2.first_response_at, c2.resolved_at = "responded", at(14, 10, 5), at(14, 16)
    c2.overdue, c2.reopen_count = True, 1
    c3 = (
        received("C3", "logistics", "web", at(14, 11))
        .then("agent.responded", at(14, 11, 1), responded("A1"), "responded")
        .asks(at(14, 11, 10), "finance", "2025-07-14T08:40:00Z")
        .then(
            "complaint.escalated",
            at(14, 11, 30),
            escalated("supervisor", "customer_request"),
            "collaboration",
        )
        .then("department.replied", at(14, 12, 40), replied("finance"), "responded")
        .then("complaint.resolved", at(14, 13), RESOLVED, "resolved")
        .then("customer.revisited", at(14, 15), revisit(False, None, None, None), "resolved")
    )
    c3.state, c3.first_response_at, c3.resolved_at = "resolved", at(14, 11, 1), at(14, 13)
    c4 = (
        received("C4", "logistics", "chat,app", at(14, 12))
        .then("complaint.merged", at(14, 12, 1), {"into": "C4", "channel": "app"}, "graded")
        .then(
            "sla.breached",
            at(14, 12, 3),
            {
                "deadline": "first_response",
                "state": "graded",
                "due_at": "2025-07-14T12:03:00+08:00",
            },
            "graded",
        )
        .then("complaint.escalated", at(14, 12, 3), escalated("supervisor", "overdue"), "graded")
    )
    c4.overdue = True
    c5 = (
        received("C5", "sizing", "app", at(14, 13))
        .then("agent.responded", at(14, 13, 3), responded("A3"), "responded")
        .then("complaint.resolved", at(14, 14), RESOLVED, "resolved")
        .then("customer.revisited", at(14, 16), revisit(True, None, 4, 9), "revisited")
    )
    c5.state, c5.first_response_at, c5.resolved_at = "revisited", at(14, 13, 3), at(14, 14)
    c6 = (
        received("C6", "refund", "app", at(14, 14))
        .then("agent.responded", at(14, 14, 1), responded("A2"), "responded")
        .then("complaint.resolved", at(14, 15), RESOLVED, "resolved")
        .then("customer.revisited", at(14, 16), revisit(True, False, 1, 6), "responded")
        .then(
            "complaint.graded", at(14, 16), {"priority": "P2", "department": "finance"}, "responded"
        )
        .then("agent.responded", at(16, 16, 30), responded("A3"), "responded")
        .then("complaint.resolved", at(16, 17), RESOLVED, "resolved")
        .then("customer.revisited", at(17, 10), revisit(True, True, 4, 9), "revisited")
    )
    c6.state, c6.first_response_at, c6.resolved_at = "revisited", at(14, 14, 1), at(16, 17)
    c6.reopen_count = 1
    c7 = received("C7", "other", "store", at(16, 9))
    return [c1, c2, c3, c4, c5, c6, c7]


def store_complaints(database_url: str, complaints: list[Complaint]) -> None:
    engine = open_engine(database_url)
    now = at(20, 0)
    with engine.begin() as connection:
        connection.execute(
            insert(complaints_t),
            [
                {
                    "complaint_id": c.complaint_id,
                    "state": c.state,
                    "version": len(c.log),
                    "workflow_version": 1,
                    "priority": "P3",
                    "department": "finance",
                    "escalation_level": None,
                    "category": c.category,
                    "channels": c.channels,
                    "customer_id": f"U-{c.complaint_id}",
                    "order_id": None,
                    "received_at": c.received_at,
                    "first_response_at": c.first_response_at,
                    "resolved_at": c.resolved_at,
                    "overdue": c.overdue,
                    "reopen_count": c.reopen_count,
                    "aggregate": "{}",
                    "updated_at": now,
                }
                for c in complaints
            ],
        )
        connection.execute(
            insert(history_t),
            [
                {
                    "complaint_id": c.complaint_id,
                    "version": version,
                    "event_id": str(uuid5(NAMESPACE_URL, f"{c.complaint_id}/{version}")),
                    "type": type_,
                    "state": state,
                    "occurred_at": when,
                    "source": "test",
                    "payload": payload,
                    "recorded_at": now,
                }
                for c in complaints
                for version, (type_, when, payload, state) in enumerate(c.log, start=1)
            ],
        )
        back_fill(connection)
    engine.dispose()
