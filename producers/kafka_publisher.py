"""The Kafka adapter of the `Publisher` port: ordered, acknowledged sends with an outcome per
message, on a producer that is replaced when kafka-python leaves it unable to send.

One request in flight per connection, acks=all and retries until the delivery timeout keep
per-partition order, so a complaint's event-log entries reach Kafka in version order: a later
batch of a partition is sent only once the one before it is acknowledged or has failed.

The relay's producer is not idempotent, on purpose. kafka-python 3.0.12's idempotent producer
turns a record the broker refuses (one message over a topic's max.message.bytes) into a fatal
state in which it fails every later send, of any topic, with that same error, so every other
row would look too large as well; and a broker replaced on the same address, which no longer
knows the producer's id, answers the producer's InitProducerId with UnknownError, fatal too
(the 1,800 failures of the issue "Bad days without loss"). Without idempotence a refused record
fails alone and a new broker is simply reconnected to; a retry after a lost answer may write a
message twice, which consumers drop by event_id as they drop the relay's own duplicates.
"""

import logging
import random
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from kafka import KafkaProducer
from kafka.errors import InvalidTopicError, KafkaError, KafkaTimeoutError
from kafka.util import ensure_valid_topic_name

from complaintflow.engine.core.backoff import compute_backoff
from complaintflow.engine.errors import BrokerUnavailable
from complaintflow.engine.kafka_clients import open_client
from complaintflow.engine.ports import SendFailure
from complaintflow.engine.settings import KafkaConnection
from complaintflow.producers.key_partitioner import KeyCachedPartitioner
from complaintflow.producers.send_errors import describe, is_permanent, unusable

log = logging.getLogger(__name__)

Message = tuple[str, bytes | None, bytes]
ProducerFactory = Callable[[KafkaConnection], Any]

DELIVERY_TIMEOUT_S = 30.0
"""kafka-python fails what it could not deliver by then, so that when `deliver` returns nothing
of its call is left in the producer to reach the broker after the rows are sent again."""
FLUSH_GRACE_S = 5.0
MAX_BLOCK_S = 10.0
"""How long one send waits for a topic's metadata (a new producer while the broker is away)."""
CLOSE_TIMEOUT_S = 5.0


def producer_for(connection: KafkaConnection, **overrides: object) -> KafkaProducer:
    options: dict[str, object] = {
        "acks": "all",
        "linger_ms": 2,
        "batch_size": 256 * 1024,
        "max_in_flight_requests_per_connection": 1,
        "retries": 5,
        "request_timeout_ms": 10_000,
        # kafka-python asks for metadata only on an idle, connected node; during a failover
        # every live node holds an acks=all request, so with the default 30 s cap it learnt
        # of new leaders 12 s after they were elected (tests/faults/test_failover.py)
        "reconnect_backoff_max_ms": 1_000,
        "partitioner": KeyCachedPartitioner(),
    }
    return open_client(KafkaProducer, connection, **(options | overrides))


def ordered_producer(connection: KafkaConnection) -> KafkaProducer:
    """The relay's and the sweeper's producer: not idempotent (see above), retrying until the
    delivery timeout rather than a count, so a partition's batch fails only when the broker
    refuses it or the timeout has passed."""
    return producer_for(
        connection,
        enable_idempotence=False,
        retries=float("inf"),
        delivery_timeout_ms=int(DELIVERY_TIMEOUT_S * 1000),
        max_block_ms=int(MAX_BLOCK_S * 1000),
    )


class KafkaPublisher:
    """Publishes through one producer at a time. A producer kafka-python can no longer send
    with is closed and a new one made at the next call; making one again after a failure
    waits with exponential backoff. `recreated` counts the producers made to replace one: an
    alert-worthy figure (the worker's `producer_recreated_total`)."""

    def __init__(
        self,
        connection: KafkaConnection,
        factory: ProducerFactory = ordered_producer,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = connection
        self.factory = factory
        self.monotonic = monotonic
        self.recreated = 0
        self._producer: Any = factory(connection)
        self._why_none = ""
        self._troubles = 0
        """Producers replaced or not made since a message was last acknowledged."""
        self._make_at = 0.0
        self._jitter = random.Random()

    def publish(self, messages: Sequence[Message]) -> None:
        """All or an error: for the sweeper, whose leases make a failed batch fire again."""
        failures = self.deliver(messages)
        if failures:
            raise BrokerUnavailable(f"publish failed: {failures[min(failures)].reason}")

    def deliver(self, messages: Sequence[Message]) -> dict[int, SendFailure]:
        """Send all, wait for every acknowledgement; the failures by index. While the broker
        is away this waits about DELIVERY_TIMEOUT_S, so a caller retrying at once is paced."""
        if not messages:
            return {}
        producer = self._current()
        if producer is None:
            not_sent = SendFailure(f"no Kafka producer: {self._why_none}", permanent=False)
            return dict.fromkeys(range(len(messages)), not_sent)
        errors, pending = self._send_and_wait(producer, messages)
        if len(errors) < len(messages):
            self._troubles = 0
        # records kafka-python still holds could reach the broker after they are sent again,
        # behind their successors: only a new producer is safe then
        why = "records pending after the delivery timeout" if pending else None
        why = why or unusable(producer, errors.values())
        if why is not None:
            self._discard(why)
        # a broken producer fails what it holds with the error that broke it: no refusal of a
        # message can then be told apart, so none is taken as permanent
        return {
            index: SendFailure(describe(error), permanent=why is None and is_permanent(error))
            for index, error in errors.items()
        }

    def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            _close(producer)

    def _send_and_wait(
        self, producer: Any, messages: Sequence[Message]
    ) -> tuple[dict[int, Exception], bool]:
        """Send in order and wait; the errors by index, and whether any record is still pending.
        A send that fails for a reason other than its message (no metadata while the broker is
        away) stops the sends after it, which would wait just as long."""
        futures: dict[int, Any] = {}
        errors: dict[int, Exception] = {}
        for index, (topic, key, value) in enumerate(messages):
            try:
                ensure_valid_topic_name(topic)
            except ValueError as exc:
                errors[index] = InvalidTopicError(str(exc))
                continue
            try:
                futures[index] = producer.send(topic, key=key, value=value)
            except (KafkaError, ValueError) as exc:
                errors[index] = exc
                if not is_permanent(exc):
                    errors.update(dict.fromkeys(range(index + 1, len(messages)), exc))
                    break
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S + FLUSH_GRACE_S
        with suppress(KafkaError):  # what is not done by then is reported below
            producer.flush(timeout=DELIVERY_TIMEOUT_S + FLUSH_GRACE_S)
        for future in futures.values():
            if not future.is_done:  # a batch split for its size is retried after flush returns
                with suppress(KafkaError):
                    future.get(timeout=max(0.0, deadline - time.monotonic()))
        pending = False
        for index, future in futures.items():
            if not future.is_done:
                errors[index] = KafkaTimeoutError("not acknowledged by the delivery timeout")
                pending = True
            elif future.failed():
                errors[index] = future.exception
        return errors, pending

    def _current(self) -> Any:
        """The producer, or a new one if the last was discarded and the backoff has passed."""
        if self._producer is not None and (why := unusable(self._producer)) is not None:
            self._discard(why)
        if self._producer is not None or self.monotonic() < self._make_at:
            return self._producer
        try:
            self._producer = self.factory(self.connection)
        except BrokerUnavailable as exc:
            self._why_none = str(exc)
            self._wait_before_next()
            log.warning("no Kafka producer: %s; trying again in %.1f s", exc, self._delay_left())
            return None
        self.recreated += 1
        log.warning("Kafka producer recreated (%d so far)", self.recreated)
        return self._producer

    def _discard(self, why: str) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        log.warning("Kafka producer unusable (%s): closing it, a new one follows", why)
        self._why_none = f"the last one was unusable ({why})"
        self._wait_before_next()
        _close(producer)

    def _wait_before_next(self) -> None:
        """The first replacement is made at once; each further one without an acknowledged
        message in between waits longer (0.5 s doubling up to 30 s, with jitter)."""
        self._troubles += 1
        delay = (
            0.0
            if self._troubles == 1
            else compute_backoff(self._troubles - 1, base=0.5, cap=30.0, jitter=self._jitter)
        )
        self._make_at = self.monotonic() + delay

    def _delay_left(self) -> float:
        return max(0.0, self._make_at - self.monotonic())


def _close(producer: Any) -> None:
    """Close, dropping what the producer still holds if it cannot be delivered in time:
    kafka-python's `close` flushes first and gives up with an error, leaving its sender thread
    to publish those records later, behind the rows sent after them; its sender's
    `force_close` drops them."""
    try:
        producer.close(timeout=CLOSE_TIMEOUT_S)
    except KafkaError as exc:
        log.warning("Kafka producer did not close in time (%s): dropping what it holds", exc)
        sender = getattr(producer, "_sender", None)
        if sender is not None:
            sender.force_close()
