"""The closed vocabularies of the public event contract (ARCHITECTURE.md, schema_version 1).

They are enums rather than free strings so that a typo in an upstream system is refused at
the boundary with the list of allowed values, instead of silently creating a new category.
"""

from enum import StrEnum


class Channel(StrEnum):
    PHONE = "phone"
    WEB = "web"
    APP = "app"
    EMAIL = "email"
    SOCIAL = "social"
    STORE = "store"
    CHAT = "chat"


class Category(StrEnum):
    REFUND = "refund"
    LOGISTICS = "logistics"
    PRODUCT_QUALITY = "product_quality"
    DESCRIPTION_MISMATCH = "description_mismatch"
    SERVICE_ATTITUDE = "service_attitude"
    SIZING = "sizing"
    INSTALLATION = "installation"
    OTHER = "other"


class CustomerTier(StrEnum):
    REGULAR = "regular"
    VIP = "vip"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Department(StrEnum):
    LOGISTICS = "logistics"
    WAREHOUSE = "warehouse"
    PRODUCT = "product"
    TECH = "tech"
    FINANCE = "finance"
    AFTER_SALES = "after_sales"


class EvidenceSource(StrEnum):
    CUSTOMER = "customer"
    DEPARTMENT = "department"


class ReplyOutcome(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    NEEDS_EVIDENCE = "needs_evidence"


class EscalationLevel(StrEnum):
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    DIRECTOR = "director"


class EscalationCause(StrEnum):
    MISSING_EVIDENCE = "missing_evidence"
    DISPUTED_RESPONSIBILITY = "disputed_responsibility"
    OVERDUE = "overdue"
    CUSTOMER_REQUEST = "customer_request"
    OTHER = "other"


class Resolution(StrEnum):
    REFUND = "refund"
    REPLACEMENT = "replacement"
    REPAIR = "repair"
    COMPENSATION = "compensation"
    EXPLANATION = "explanation"
    OTHER = "other"


class DeadlineName(StrEnum):
    """The SLA deadlines named in sla.warning / sla.breached payloads."""

    FIRST_RESPONSE = "first_response"
    HANDLING = "handling"
    COLLABORATION = "collaboration"
    EVIDENCE = "evidence"
    REVISIT = "revisit"


class EventType(StrEnum):
    """Inbound event types (complaints.inbound) and the engine's own facts (complaints.events)."""

    COMPLAINT_RECEIVED = "complaint.received"
    COMPLAINT_REGRADED = "complaint.regraded"
    AGENT_RESPONDED = "agent.responded"
    EVIDENCE_REQUESTED = "evidence.requested"
    EVIDENCE_SUBMITTED = "evidence.submitted"
    COLLABORATION_REQUESTED = "collaboration.requested"
    DEPARTMENT_REPLIED = "department.replied"
    COMPLAINT_ESCALATED = "complaint.escalated"
    COMPLAINT_RESOLVED = "complaint.resolved"
    CUSTOMER_REVISITED = "customer.revisited"
    COMPLAINT_REOPENED = "complaint.reopened"
    COMPLAINT_ARCHIVED = "complaint.archived"
    TIMER_FIRED = "timer.fired"
    COMPLAINT_GRADED = "complaint.graded"
    COMPLAINT_MERGED = "complaint.merged"
    ASSIGNMENT_CREATED = "assignment.created"
    SLA_WARNING = "sla.warning"
    SLA_BREACHED = "sla.breached"
    REVISIT_REQUESTED = "revisit.requested"
