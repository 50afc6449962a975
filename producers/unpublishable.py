"""The dead letter of an outbox row the broker refuses for good (a message too large for it):
the row is moved aside to complaints.dlq instead of holding up the rows after it.

The record has the fields of the contract's dead letter (engine/core/batch.py `DeadLetter`), so
a reader of complaints.dlq finds the ones it knows: `partition` and `offset` are null, since the
row was never an inbound message, and `outbox_id` names the row. The value is cut to 512 KiB
like an inbound original, so the dead letter itself always fits the broker.
"""

import base64

from pydantic import BaseModel, ConfigDict

from complaintflow.engine.core.messages import MAX_DEAD_LETTER_ORIGINAL
from complaintflow.engine.ports import OutboxRow, SendFailure


class UnpublishableRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    reason: str
    topic: str
    partition: None = None
    offset: None = None
    key: str | None
    original: str
    truncated: bool
    size: int
    """Bytes of the row's value, also when `original` holds only its first 512 KiB."""
    outbox_id: int

    @classmethod
    def of(cls, row: OutboxRow, failure: SendFailure) -> "UnpublishableRow":
        row_id, topic, key, value = row
        return cls(
            reason=f"unpublishable: {failure.reason}",
            topic=topic,
            key=None if key is None else base64.b64encode(key).decode(),
            original=base64.b64encode(value[:MAX_DEAD_LETTER_ORIGINAL]).decode(),
            truncated=len(value) > MAX_DEAD_LETTER_ORIGINAL,
            size=len(value),
            outbox_id=row_id,
        )

    def json_bytes(self) -> bytes:
        return self.model_dump_json().encode()
