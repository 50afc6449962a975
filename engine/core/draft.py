"""A decision in progress: the complaint as it changes and the history entries it produces.

Every entry takes the next version and the state at that moment, so the history has no gaps
and each entry says where the complaint stood once it was applied.
"""

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel

from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.events import Envelope, LogEntry
from complaintflow.engine.core.outcome import Outcome
from complaintflow.engine.core.vocabulary import EventType
from complaintflow.engine.core.workflow import Workflow

ENGINE_SOURCE = "complaintflow"
_FACT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:complaintflow:fact")


class Draft:
    def __init__(
        self,
        before: Complaint | None,
        complaint: Complaint,
        cause: Envelope,
        now: datetime,
        workflow: Workflow,
    ) -> None:
        self.before = before
        self.complaint = complaint
        self.cause = cause
        self.now = now
        self.workflow = workflow
        self._entries: list[LogEntry] = []

    def update(self, **changes: Any) -> None:
        self.complaint = self.complaint.model_copy(update=changes)

    def record_cause(self) -> None:
        """Re-emit the inbound event itself, keeping its event_id, time and source."""
        self._append(
            event_id=self.cause.event_id,
            type=EventType(self.cause.type),
            occurred_at=self.cause.occurred_at,
            source=self.cause.source,
            payload=self.cause.payload.model_dump(mode="json"),
        )

    def record_fact(self, type: EventType, payload: BaseModel) -> None:
        """An engine fact; its id is derived from the causing event, so replays repeat it.
        It happened when its cause did (a timer's cause happens at its due time), not when a
        worker got round to deciding it: a backlog must not move facts after later events."""
        self._append(
            event_id=uuid5(_FACT_NAMESPACE, f"{self.cause.event_id}:{len(self._entries)}"),
            type=type,
            occurred_at=self.cause.occurred_at,
            source=ENGINE_SOURCE,
            payload=payload.model_dump(mode="json"),
        )

    def _append(
        self,
        *,
        event_id: UUID,
        type: EventType,
        occurred_at: datetime,
        source: str,
        payload: dict[str, Any],
    ) -> None:
        version = self.complaint.version + 1
        self.complaint = self.complaint.model_copy(update={"version": version})
        self._entries.append(
            LogEntry(
                event_id=event_id,
                type=type,
                complaint_id=self.complaint.complaint_id,
                occurred_at=occurred_at,
                source=source,
                payload=payload,
                version=version,
                state=self.complaint.state,
            )
        )

    def outcome(self, merged_from: str | None = None) -> Outcome:
        """The result, with timer changes derived by comparing timers before and after."""
        if not self._entries:
            return Outcome()
        old = {t.key: t for t in self.before.timers} if self.before else {}
        new = {t.key: t for t in self.complaint.timers}
        return Outcome(
            complaint=self.complaint,
            entries=tuple(self._entries),
            timers_set=tuple(t for key, t in new.items() if old.get(key) != t),
            timers_cancelled=tuple(key for key in old if key not in new),
            merged_from=merged_from,
        )
