"""What a decision returns: the new complaint, history entries, timer changes, or a refusal."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from complaintflow.engine.core.complaint import Complaint, Timer
from complaintflow.engine.core.events import LogEntry


class RefusalKind(StrEnum):
    """What kind of input was refused, named where the refusal is made: a closed set for
    metrics labels (the values are the `reason` label of the refused-input counter)."""

    NO_VALUE = "no_value"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"  # also valid JSON that is not an object
    INVALID_ENVELOPE = "invalid_envelope"
    UNKNOWN_TYPE = "unknown_type"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    INVALID_PAYLOAD = "invalid_payload"
    UNKNOWN_COMPLAINT = "unknown_complaint"
    DUPLICATE_COMPLAINT = "duplicate_complaint"
    NOT_ALLOWED_IN_STATE = "not_allowed_in_state"
    TOO_LARGE = "too_large"  # over the input limit, or an outbound message over the broker's
    INTERNAL_ERROR = "internal_error"  # the decision raised: a bug met by this one event


MAX_REASON_BYTES = 1000


def _within_reason_size(reason: str) -> str:
    """A reason may quote input (an unknown type, a bad value): cut to its first 1000 bytes of
    UTF-8, so that a dead letter stays small whatever was sent."""
    encoded = reason.encode()
    if len(encoded) <= MAX_REASON_BYTES:
        return reason
    return encoded[: MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."


class Refusal(BaseModel):
    """Input the engine will not apply: its kind, and a reason a person can act on (it goes to
    the DLQ)."""

    model_config = ConfigDict(frozen=True)

    kind: RefusalKind
    reason: Annotated[str, AfterValidator(_within_reason_size)]


@dataclass(frozen=True, slots=True)
class Outcome:
    """`complaint` is None when nothing changed (a refusal, or a timer whose state moved on).

    `merged_from` is set when a complaint.received was folded into an existing complaint: the
    store then routes later events for that id to `complaint.complaint_id`.

    A plain dataclass: every decision returns one, built from values that are valid already,
    and it never crosses a boundary itself (its complaint and entries do, as models).
    """

    complaint: Complaint | None = None
    entries: tuple[LogEntry, ...] = ()
    timers_set: tuple[Timer, ...] = ()
    timers_cancelled: tuple[str, ...] = ()
    refusal: Refusal | None = None
    merged_from: str | None = None

    @property
    def applied(self) -> bool:
        return self.complaint is not None
