"""The event envelope (schema_version 1): one class per inbound type, and the log entry.

Each inbound type is its own envelope class with a `Literal` type tag, so one strict JSON
validation picks the payload model by `type` and the decision function can dispatch on the
class with full typing.
"""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from complaintflow.engine.core.payloads import (
    AgentRespondedPayload,
    CollaborationRequestedPayload,
    ComplaintArchivedPayload,
    ComplaintEscalatedPayload,
    ComplaintReceivedPayload,
    ComplaintRegradedPayload,
    ComplaintReopenedPayload,
    ComplaintResolvedPayload,
    CustomerRevisitedPayload,
    DepartmentRepliedPayload,
    EventTime,
    EvidenceRequestedPayload,
    EvidenceSubmittedPayload,
    Payload,
    TimerFiredPayload,
)
from complaintflow.engine.core.vocabulary import EventType

SCHEMA_VERSION = 1
COMPLAINT_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"

ComplaintId = Annotated[str, Field(pattern=COMPLAINT_ID_PATTERN)]


def _not_a_boolean(value: object) -> object:
    """JSON `true` equals 1 to Python; a version number must be a number."""
    if isinstance(value, bool):
        raise ValueError(f"schema_version must be the number {SCHEMA_VERSION}, not a boolean")
    return value


SchemaVersion = Annotated[Literal[1], BeforeValidator(_not_a_boolean)]


class Envelope(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    event_id: UUID
    type: str
    complaint_id: ComplaintId
    occurred_at: EventTime
    source: Annotated[str, Field(min_length=1, max_length=200)]
    schema_version: SchemaVersion
    payload: Payload


class ComplaintReceived(Envelope):
    type: Literal["complaint.received"]
    payload: ComplaintReceivedPayload


class ComplaintRegraded(Envelope):
    type: Literal["complaint.regraded"]
    payload: ComplaintRegradedPayload


class AgentResponded(Envelope):
    type: Literal["agent.responded"]
    payload: AgentRespondedPayload


class EvidenceRequested(Envelope):
    type: Literal["evidence.requested"]
    payload: EvidenceRequestedPayload


class EvidenceSubmitted(Envelope):
    type: Literal["evidence.submitted"]
    payload: EvidenceSubmittedPayload


class CollaborationRequested(Envelope):
    type: Literal["collaboration.requested"]
    payload: CollaborationRequestedPayload


class DepartmentReplied(Envelope):
    type: Literal["department.replied"]
    payload: DepartmentRepliedPayload


class ComplaintEscalated(Envelope):
    type: Literal["complaint.escalated"]
    payload: ComplaintEscalatedPayload


class ComplaintResolved(Envelope):
    type: Literal["complaint.resolved"]
    payload: ComplaintResolvedPayload


class CustomerRevisited(Envelope):
    type: Literal["customer.revisited"]
    payload: CustomerRevisitedPayload


class ComplaintReopened(Envelope):
    type: Literal["complaint.reopened"]
    payload: ComplaintReopenedPayload


class ComplaintArchived(Envelope):
    type: Literal["complaint.archived"]
    payload: ComplaintArchivedPayload


class TimerFired(Envelope):
    type: Literal["timer.fired"]
    payload: TimerFiredPayload


InboundEvent = Annotated[
    ComplaintReceived
    | ComplaintRegraded
    | AgentResponded
    | EvidenceRequested
    | EvidenceSubmitted
    | CollaborationRequested
    | DepartmentReplied
    | ComplaintEscalated
    | ComplaintResolved
    | CustomerRevisited
    | ComplaintReopened
    | ComplaintArchived
    | TimerFired,
    Field(discriminator="type"),
]

INBOUND_TYPES: tuple[str, ...] = tuple(
    cls.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    for cls in Envelope.__subclasses__()
)


class LogEntry(BaseModel):
    """One row of a complaint's history and one message on complaints.events.

    `version` numbers a complaint's entries 1, 2, 3... with no gap; `state` is the complaint's
    state once this entry is applied. Inbound events keep their event_id; the engine's own
    facts get ids derived from the event that caused them, so a replay yields the same ids.
    """

    model_config = ConfigDict(frozen=True)

    event_id: UUID
    type: EventType
    complaint_id: str
    occurred_at: datetime
    source: str
    schema_version: int = SCHEMA_VERSION
    payload: dict[str, Any]
    version: int
    state: str


SWEEPER_SOURCE = "complaintflow.sweeper"
_TIMER_NAMESPACE = uuid5(NAMESPACE_URL, "urn:complaintflow:timer")


def timer_fired(complaint_id: str, key: str, due_at: datetime) -> TimerFired:
    """The timer.fired event for one timer; its id is stable so a re-fire is a duplicate."""
    return TimerFired(
        event_id=uuid5(_TIMER_NAMESPACE, f"{complaint_id}|{key}|{due_at.isoformat()}"),
        type="timer.fired",
        complaint_id=complaint_id,
        occurred_at=due_at,
        source=SWEEPER_SOURCE,
        schema_version=1,
        payload=TimerFiredPayload(key=key, due_at=due_at),
    )
