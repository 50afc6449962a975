"""What a kafka-python send error means for the message and for the producer that sent it.

kafka-python marks the errors worth retrying `retriable = True`, but most of the others are not
the message's fault either: a refused login, a missing ACL, an unknown server error or a
producer that lost its state say nothing about the row. Only a refusal of the record itself
makes a message permanently unpublishable, so that is an allowlist; everything else is retried
later, and a row is never moved aside for the broker's or the client's trouble.

Checked against kafka-python 3.0.12: its producer leaves no public sign of a fatal state, so
`unusable` reads its transaction manager and sender thread (tests/faults/test_broker_outage.py
replaces a broker under a real producer to keep this honest).
"""

from collections.abc import Iterable
from typing import Any

from kafka import errors as kafka

from complaintflow.engine.core.batch import MAX_ERROR_MESSAGE

REFUSES_THE_RECORD: tuple[type[Exception], ...] = (
    kafka.MessageSizeTooLargeError,  # over the broker's message.max.bytes or max_request_size
    kafka.RecordListTooLargeError,  # a single record over the broker's segment size
    kafka.InvalidRecordError,  # the broker's record validation refused this record
    kafka.InvalidTopicError,  # the topic the row names can never exist
)
"""Sending the same message again can never succeed."""

LOST_PRODUCER_STATE: tuple[type[Exception], ...] = (
    kafka.OutOfOrderSequenceNumberError,
    kafka.UnknownProducerIdError,
    kafka.InvalidProducerEpochError,
    kafka.InvalidProducerIdMappingError,
    kafka.ProducerFencedError,
    kafka.InvalidTxnStateError,
    kafka.IllegalStateError,  # a send on a closed producer
)
"""The broker no longer knows this producer (a broker replaced under it, its state expired),
or the producer is closed: only a new producer sends again."""


def is_permanent(error: BaseException) -> bool:
    return isinstance(error, REFUSES_THE_RECORD)


def describe(error: BaseException) -> str:
    """`MessageSizeTooLargeError: The message is 2000089 bytes ...`, without kafka-python's
    `[Error 10]` prefix or a trailing `None`, cut to a dead letter's error length."""
    detail = error.args[0] if error.args and error.args[0] is not None else None
    text = type(error).__name__ if detail is None else f"{type(error).__name__}: {detail}"
    return text[:MAX_ERROR_MESSAGE]


def unusable(producer: Any, errors: Iterable[BaseException] = ()) -> str | None:
    """Why `producer` can never send again, or None. kafka-python's idempotent producer
    enters a fatal state (an InitProducerId answered `UnknownError` by a new broker, a record
    the broker refused) in which it fails every later send with the same error; a sender
    thread that stopped sends nothing; errors of lost producer state recur on every send."""
    manager = getattr(producer, "_transaction_manager", None)
    if manager is not None and manager.has_fatal_error():
        cause = manager.last_error
        return "fatal state" if cause is None else f"fatal state after {describe(cause)}"
    sender = getattr(producer, "_sender", None)
    if sender is not None and not sender.is_alive():
        return "its sender thread has stopped"
    lost = next((e for e in errors if isinstance(e, LOST_PRODUCER_STATE)), None)
    return None if lost is None else describe(lost)
