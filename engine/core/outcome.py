"""What a decision returns: the new complaint, history entries, timer changes, or a refusal."""

from pydantic import BaseModel, ConfigDict

from complaintflow.engine.core.complaint import Complaint, Timer
from complaintflow.engine.core.events import LogEntry


class Refusal(BaseModel):
    """Input the engine will not apply, with a reason a person can act on (it goes to the DLQ)."""

    model_config = ConfigDict(frozen=True)

    reason: str


class Outcome(BaseModel):
    """`complaint` is None when nothing changed (a refusal, or a timer whose state moved on).

    `merged_from` is set when a complaint.received was folded into an existing complaint: the
    store then routes later events for that id to `complaint.complaint_id`.
    """

    model_config = ConfigDict(frozen=True)

    complaint: Complaint | None = None
    entries: tuple[LogEntry, ...] = ()
    timers_set: tuple[Timer, ...] = ()
    timers_cancelled: tuple[str, ...] = ()
    refusal: Refusal | None = None
    merged_from: str | None = None

    @property
    def applied(self) -> bool:
        return self.complaint is not None
