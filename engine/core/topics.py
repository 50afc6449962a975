"""Topic names (prefix configurable) and which topics each event-log entry goes to."""

from dataclasses import dataclass

from complaintflow.engine.core.events import LogEntry
from complaintflow.engine.core.vocabulary import Department, EventType

ALERT_TYPES = frozenset(
    {EventType.SLA_WARNING, EventType.SLA_BREACHED, EventType.COMPLAINT_ESCALATED}
)


@dataclass(frozen=True)
class Topics:
    prefix: str = "complaints"

    @property
    def inbound(self) -> str:
        return f"{self.prefix}.inbound"

    @property
    def events(self) -> str:
        return f"{self.prefix}.events"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}.alerts"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}.dlq"

    @property
    def revisits(self) -> str:
        return f"{self.prefix}.revisits"

    def assignments(self, department: Department | str) -> str:
        return f"{self.prefix}.assignments.{Department(department).value}"

    def all(self) -> list[str]:
        return [self.inbound, self.events, self.alerts, self.dlq, self.revisits] + [
            self.assignments(d) for d in Department
        ]

    def destinations(self, entry: LogEntry) -> list[str]:
        """Every entry goes to the event log; alerts also to complaints.alerts; assignments and
        SLA reminders about a department also to that department's assignment topic; revisit
        requests also to complaints.revisits, for the survey/call-back service."""
        topics = [self.events]
        if entry.type is EventType.REVISIT_REQUESTED:
            topics.append(self.revisits)
        if entry.type in ALERT_TYPES:
            topics.append(self.alerts)
        department = entry.payload.get("department")
        if department and entry.type in (EventType.ASSIGNMENT_CREATED, *ALERT_TYPES):
            topics.append(self.assignments(department))
        return topics
