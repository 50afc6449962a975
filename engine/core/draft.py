"""A decision in progress: the complaint as it changes and the history entries it produces.

Every entry takes the next version and the state at that moment, so the history has no gaps
and each entry says where the complaint stood once it was applied.
"""

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel

from complaintflow.engine.core.complaint import Complaint, Timer
from complaintflow.engine.core.events import Envelope, LogEntry
from complaintflow.engine.core.outcome import Outcome
from complaintflow.engine.core.vocabulary import EventType
from complaintflow.engine.core.workflow import Workflow

ENGINE_SOURCE = "complaintflow"
_FACT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:complaintflow:fact")


class Draft:
    """The changes of one decision, gathered and applied to the complaint in one copy when
    the complaint is read: a frozen model costs a copy per change otherwise, and most
    decisions change it three or four times (state, version, fields, version again)."""

    def __init__(
        self,
        before: Complaint | None,
        complaint: Complaint,
        cause: Envelope,
        now: datetime,
        workflow: Workflow,
    ) -> None:
        self.before = before
        self._complaint = complaint
        self._changes: dict[str, Any] = {}
        self.cause = cause
        self.now = now
        self.workflow = workflow
        self._entries: list[LogEntry] = []

    @property
    def complaint(self) -> Complaint:
        """The complaint with every change so far."""
        if self._changes:
            self._complaint = self._complaint.model_copy(update=self._changes)
            self._changes = {}
        return self._complaint

    @complaint.setter
    def complaint(self, complaint: Complaint) -> None:
        self._complaint = complaint
        self._changes = {}

    def update(self, **changes: Any) -> None:
        self._changes.update(changes)

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
        version = self._changes.get("version", self._complaint.version) + 1
        self._changes["version"] = version
        self._entries.append(
            LogEntry(
                event_id=event_id,
                type=type,
                complaint_id=self._complaint.complaint_id,
                occurred_at=occurred_at,
                source=source,
                payload=payload,
                version=version,
                state=self._changes.get("state", self._complaint.state),
            )
        )

    def outcome(self, merged_from: str | None = None) -> Outcome:
        """The result, with timer changes derived by comparing timers before and after."""
        if not self._entries:
            return Outcome()
        complaint = self.complaint
        old = self.before.pending_timers() if self.before else {}
        new = complaint.pending_timers()
        return Outcome(
            complaint=complaint,
            entries=tuple(self._entries),
            timers_set=tuple(
                Timer(key=key, due_at=due_at)
                for key, due_at in new.items()
                if old.get(key) != due_at
            ),
            timers_cancelled=tuple(key for key in old if key not in new),
            merged_from=merged_from,
        )
