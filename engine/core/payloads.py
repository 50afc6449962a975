"""Payload models of every event type, inbound and outbound (ARCHITECTURE.md, schema_version 1).

Models are strict so that a wrong JSON type (a number where a string is expected, 1 for
true) is refused rather than coerced; unknown fields are ignored, because the contract allows
publishers to add fields without a new schema version.
"""

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from complaintflow.engine.core.vocabulary import (
    Category,
    Channel,
    CustomerTier,
    DeadlineName,
    Department,
    EscalationCause,
    EscalationLevel,
    EvidenceSource,
    Priority,
    ReplyOutcome,
    Resolution,
)

_DECIMAL = re.compile(r"^-?\d{1,16}(\.\d{1,2})?$")


def _decimal_string(value: object) -> Decimal:
    """Money travels as a decimal string: a JSON float would already have lost cents."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str) and _DECIMAL.match(value):
        return Decimal(value)
    raise ValueError('amount must be a decimal string such as "129.90"')


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _within_supported_range(value: datetime) -> datetime:
    """Deadlines are computed from event times; near datetime's limits they would overflow.

    Comparing aware datetimes asks the decoder's time zone for its offset, which costs more
    than the rest of this check. An offset is under a day, so a local year from 1971 to 8998
    is within the range whatever the offset: only the years at the edges are compared."""
    if 1971 <= value.year <= 8998:
        return value
    if not EARLIEST <= value < LATEST:
        raise ValueError("must be between 1970-01-01 and 9000-01-01")
    return value


EventTime = Annotated[AwareDatetime, AfterValidator(_within_supported_range)]
Amount = Annotated[
    Decimal, BeforeValidator(_decimal_string), Field(ge=0, max_digits=18, decimal_places=2)
]
# Every string and list of the inbound contract is bounded (README, "Limits"): a valid event
# stays far below the broker's message size once it is re-emitted with its version and state.
Description = Annotated[str, Field(max_length=10_000)]
Text = Annotated[str, Field(max_length=5_000)]
Identifier = Annotated[str, Field(min_length=1, max_length=128)]
EvidenceItems = Annotated[
    list[Annotated[str, Field(max_length=500)]], Field(min_length=1, max_length=100)
]


class Payload(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


class ComplaintReceivedPayload(Payload):
    customer_id: Identifier
    channel: Channel
    category: Category
    description: Description
    order_id: Identifier | None = None
    amount: Amount | None = None
    customer_tier: CustomerTier = CustomerTier.REGULAR


class ComplaintRegradedPayload(Payload):
    priority: Priority
    reason: Text


class AgentRespondedPayload(Payload):
    agent_id: Identifier
    message: Text


class EvidenceRequestedPayload(Payload):
    items: EvidenceItems
    requested_from: EvidenceSource


class EvidenceSubmittedPayload(Payload):
    items: EvidenceItems


class CollaborationRequestedPayload(Payload):
    department: Department
    question: Text


class DepartmentRepliedPayload(Payload):
    department: Department
    outcome: ReplyOutcome
    responsible_party: Annotated[str, Field(max_length=200)] | None = None
    note: Text | None = None


class ComplaintEscalatedPayload(Payload):
    level: EscalationLevel
    cause: EscalationCause


class ComplaintResolvedPayload(Payload):
    resolution: Resolution
    amount: Amount | None = None
    note: Text | None = None


class CustomerRevisitedPayload(Payload):
    reached: bool
    satisfied: bool | None = None
    csat: Annotated[int, Field(ge=1, le=5)] | None = None
    nps: Annotated[int, Field(ge=0, le=10)] | None = None
    comment: Text | None = None


class ComplaintReopenedPayload(Payload):
    reason: Text


class ComplaintArchivedPayload(Payload):
    reason: Text


class TimerFiredPayload(Payload):
    """`key` names the timer in its complaint; `due_at` tells this firing from a re-armed one."""

    key: Annotated[str, Field(min_length=1, max_length=200)]
    due_at: EventTime


class ComplaintGradedPayload(Payload):
    priority: Priority
    department: Department
    # what raised the priority: "category:refund", "keyword:12315", "tier:vip", "repeat" ...
    reasons: tuple[str, ...] = ()


class ComplaintMergedPayload(Payload):
    into: str
    channel: Channel
    merged_id: str


class SimilarCase(Payload):
    """A resolved complaint whose description is close to another's: precedent for the agent
    and the department. `score` is the trigram similarity of the two descriptions, 0..1."""

    complaint_id: str
    category: Category
    resolution: Resolution | None
    handling_s: float | None
    score: float
    description: Description


class AssignmentCreatedPayload(Payload):
    department: Department
    question: Text
    due_at: datetime
    # the closest resolved complaints, when the store knew any (contract: similar cases)
    similar: tuple[SimilarCase, ...] = ()


class RevisitRequestedPayload(Payload):
    """Asks the survey/call-back service to reach the customer: attempt 1 is the first."""

    attempt: int
    due_at: datetime
    channel: Channel
    customer_id: str


class SlaPayload(Payload):
    """sla.warning and sla.breached: which deadline, in which state, due when."""

    deadline: DeadlineName
    state: str
    due_at: datetime
    department: Department | None = None
