"""The messages a batch takes in and gives out: polled records, the inbox entries, the
outbound messages and the dead letters written in the batch's transaction. Pydantic models,
because each crosses a boundary (the broker, the store, the DLQ's JSON contract)."""

import base64

from pydantic import BaseModel, ConfigDict


class InboundMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @property
    def position_key(self) -> str:
        """The inbox key of input that has no readable event_id."""
        return f"{self.topic}:{self.partition}:{self.offset}"


MAX_DEAD_LETTER_ORIGINAL = 512 * 1024


class DeadLetter(BaseModel):
    """A record on complaints.dlq: why, where from, and the exact bytes (base64; null for a
    message without a value). Originals over 512 KiB are cut, and `truncated` says so, so that
    a dead letter always fits the broker's message size and never blocks the outbox."""

    reason: str
    topic: str
    partition: int
    offset: int
    key: str | None
    original: str | None
    truncated: bool = False

    @classmethod
    def of(cls, message: InboundMessage, reason: str) -> "DeadLetter":
        return cls(
            reason=reason,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=None if message.key is None else base64.b64encode(message.key).decode(),
            original=None
            if message.value is None
            else base64.b64encode(message.value[:MAX_DEAD_LETTER_ORIGINAL]).decode(),
            truncated=message.value is not None and len(message.value) > MAX_DEAD_LETTER_ORIGINAL,
        )


class OutboundMessage(BaseModel):
    """A row for the outbox; `partition` says which inbound partition's owner publishes it."""

    model_config = ConfigDict(frozen=True)

    partition: int
    topic: str
    key: bytes | None
    value: bytes


class InboxEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    complaint_id: str | None
    outcome: str
