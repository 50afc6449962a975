"""Given-helpers shared by the tests: envelopes as upstream would publish them."""

import json
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.decision import decide
from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.events import InboundEvent
from complaintflow.engine.core.outcome import Outcome, Refusal
from complaintflow.engine.core.workflow import Workflow

SHANGHAI = timezone(timedelta(hours=8))
MONDAY_9 = datetime(2025, 7, 14, 9, 0, tzinfo=SHANGHAI)

RECEIVED = {
    "customer_id": "U1",
    "channel": "app",
    "category": "refund",
    "description": "refund not received",
    "order_id": "O1",
    "amount": "129.90",
}

EXAMPLE_PAYLOADS: dict[str, dict[str, Any]] = {
    "complaint.received": RECEIVED,
    "complaint.regraded": {"priority": "P1", "reason": "VIP escalated by phone"},
    "agent.responded": {"agent_id": "A1", "message": "Looking into it"},
    "evidence.requested": {"items": ["photo"], "requested_from": "customer"},
    "evidence.submitted": {"items": ["photo.jpg"]},
    "collaboration.requested": {"department": "logistics", "question": "Where is the parcel?"},
    "department.replied": {"department": "tech", "outcome": "accepted"},
    "complaint.escalated": {"level": "supervisor", "cause": "customer_request"},
    "complaint.resolved": {"resolution": "refund", "amount": "129.90"},
    "customer.revisited": {"reached": True, "satisfied": True, "csat": 5, "nps": 9},
    "complaint.reopened": {"reason": "refund bounced"},
    "complaint.archived": {"reason": "closed"},
    "timer.fired": {"key": "first_response.breach", "due_at": "2025-07-14T09:03:00+08:00"},
}


def envelope_dict(
    type_: str,
    complaint_id: str = "C-1",
    at: datetime = MONDAY_9,
    payload: dict[str, Any] | None = None,
    n: int = 0,
) -> dict[str, Any]:
    return {
        "event_id": str(uuid5(NAMESPACE_URL, f"{complaint_id}/{type_}/{at.isoformat()}/{n}")),
        "type": type_,
        "complaint_id": complaint_id,
        "occurred_at": at.isoformat(),
        "source": "test",
        "schema_version": 1,
        "payload": EXAMPLE_PAYLOADS[type_] if payload is None else payload,
    }


def raw(type_: str, **kwargs: Any) -> bytes:
    return json.dumps(envelope_dict(type_, **kwargs)).encode()


def event(type_: str, **kwargs: Any) -> InboundEvent:
    decoded = decode_event(raw(type_, **kwargs))
    assert not isinstance(decoded, Refusal), decoded
    return decoded


class Story:
    """Drives one complaint through events, asserting each is applied."""

    def __init__(self, workflow: Workflow, complaint_id: str = "C-1") -> None:
        self.workflow = workflow
        self.complaint_id = complaint_id
        self.complaint: Complaint | None = None
        self.last: Outcome | None = None

    def apply(
        self, type_: str, at: datetime, payload: dict[str, Any] | None = None, n: int = 0
    ) -> Outcome:
        outcome = self.attempt(type_, at, payload, n)
        assert outcome.refusal is None, outcome.refusal
        return outcome

    def attempt(
        self, type_: str, at: datetime, payload: dict[str, Any] | None = None, n: int = 0
    ) -> Outcome:
        ev = event(type_, complaint_id=self.complaint_id, at=at, payload=payload, n=n)
        outcome = decide(self.complaint, ev, at, self.workflow)
        if outcome.complaint is not None:
            self.complaint = outcome.complaint
        self.last = outcome
        return outcome

    def fire(self, key: str, at: datetime | None = None) -> Outcome:
        """Fire the pending timer `key` at its due time (or `at`)."""
        assert self.complaint is not None
        timer = next(t for t in self.complaint.timers if t.key == key)
        when = at or timer.due_at
        payload = {"key": key, "due_at": timer.due_at.isoformat()}
        return self.apply("timer.fired", when, payload)

    @property
    def state(self) -> str:
        assert self.complaint is not None
        return self.complaint.state
