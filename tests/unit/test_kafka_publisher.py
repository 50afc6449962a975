"""KafkaPublisher on fake producers: an outcome per message, refusals of the record told from
the broker's trouble, and a producer kafka-python left unable to send closed and replaced (with
backoff when a new one cannot be made), counted in `recreated`.

The fake producers behave as kafka-python 3.0.12's do where it matters here: `send` raises for a
record over max_request_size or when a topic's metadata cannot be had, futures fail with the
broker's error, and a fatal state shows in `_transaction_manager.has_fatal_error()`.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from kafka.errors import (
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumberError,
    TopicAuthorizationFailedError,
)

from complaintflow.engine.errors import BrokerUnavailable
from complaintflow.engine.ports import SendFailure
from complaintflow.engine.settings import KafkaConnection
from complaintflow.producers.kafka_publisher import KafkaPublisher

CONNECTION = KafkaConnection(bootstrap_servers="fake:9092")


@dataclass
class FakeFuture:
    exception: Exception | None = None
    is_done: bool = True

    def failed(self) -> bool:
        return self.exception is not None

    def get(self, timeout: float) -> None:
        if not self.is_done:
            raise KafkaTimeoutError(f"Timeout after waiting for {timeout} secs.")


@dataclass
class FakeManager:
    fatal: Exception | None = None

    def has_fatal_error(self) -> bool:
        return self.fatal is not None

    @property
    def last_error(self) -> Exception | None:
        return self.fatal


@dataclass
class FakeSender:
    alive: bool = True

    def is_alive(self) -> bool:
        return self.alive


@dataclass
class FakeProducer:
    """Acknowledges what it is sent, but: a value in `broker_refuses` fails with that error,
    one in `send_raises` raises it from `send`, and everything fails with `every_send` when set
    (which puts it in a fatal state if `fatal`)."""

    broker_refuses: dict[bytes, Exception] = field(default_factory=dict)
    send_raises: dict[bytes, Exception] = field(default_factory=dict)
    every_send: Exception | None = None
    fatal: bool = False
    never_done: bool = False
    sent: list[bytes] = field(default_factory=list)
    closed: bool = False
    _transaction_manager: FakeManager = field(default_factory=FakeManager)
    _sender: FakeSender = field(default_factory=FakeSender)

    def send(self, topic: str, key: bytes | None, value: bytes) -> FakeFuture:
        if value in self.send_raises:
            raise self.send_raises[value]
        self.sent.append(value)
        if self.fatal:
            self._transaction_manager.fatal = self.every_send
        error = self.every_send or self.broker_refuses.get(value)
        return FakeFuture(error, is_done=not self.never_done)

    def flush(self, timeout: float) -> None:
        if self.never_done:
            raise KafkaTimeoutError("Timeout waiting for future")

    def close(self, timeout: float) -> None:
        self.closed = True


class Factory:
    """Hands out the producers given, in turn; `unreachable` makes the next calls fail."""

    def __init__(self, *producers: FakeProducer) -> None:
        self.producers: Iterator[FakeProducer] = iter(producers)
        self.made: list[FakeProducer] = []
        self.unreachable = 0

    def __call__(self, connection: KafkaConnection) -> FakeProducer:
        if self.unreachable > 0:
            self.unreachable -= 1
            raise BrokerUnavailable("Kafka at fake:9092 unreachable: NoBrokersAvailable")
        self.made.append(next(self.producers))
        return self.made[-1]


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic() -> Monotonic:
    return Monotonic()


def publisher_of(factory: Factory, monotonic: Monotonic) -> KafkaPublisher:
    return KafkaPublisher(CONNECTION, factory=factory, monotonic=monotonic)


def messages(*values: bytes, topic: str = "t.events") -> list[tuple[str, bytes | None, bytes]]:
    return [(topic, b"C-1", v) for v in values]


def test_each_message_the_broker_refuses_for_good_is_reported_alone(monotonic: Monotonic) -> None:
    producer = FakeProducer(broker_refuses={b"huge": MessageSizeTooLargeError()})
    publisher = publisher_of(Factory(producer), monotonic)
    assert publisher.deliver(messages(b"a", b"huge", b"b")) == {
        1: SendFailure("MessageSizeTooLargeError", permanent=True)
    }
    assert producer.sent == [b"a", b"huge", b"b"]


def test_a_record_over_the_clients_limit_is_refused_for_good_and_the_rest_is_sent(
    monotonic: Monotonic,
) -> None:
    too_large = MessageSizeTooLargeError("The message is 2000089 bytes when serialized")
    producer = FakeProducer(send_raises={b"huge": too_large})
    failures = publisher_of(Factory(producer), monotonic).deliver(messages(b"huge", b"b"))
    assert failures == {
        0: SendFailure(
            "MessageSizeTooLargeError: The message is 2000089 bytes when serialized", True
        )
    }
    assert producer.sent == [b"b"]


def test_an_invalid_topic_is_refused_for_good_without_sending(monotonic: Monotonic) -> None:
    producer = FakeProducer()
    publisher = publisher_of(Factory(producer), monotonic)
    failures = publisher.deliver([("no such/topic", None, b"a"), ("t.events", None, b"b")])
    assert failures[0].permanent and failures[0].reason.startswith("InvalidTopicError")
    assert producer.sent == [b"b"]


def test_the_brokers_trouble_is_never_taken_for_a_refusal(monotonic: Monotonic) -> None:
    producer = FakeProducer(every_send=TopicAuthorizationFailedError("t.events"))
    failures = publisher_of(Factory(producer), monotonic).deliver(messages(b"a", b"b"))
    assert {f.permanent for f in failures.values()} == {False}
    assert sorted(failures) == [0, 1]


def test_a_send_that_cannot_get_metadata_stops_the_sends_after_it(monotonic: Monotonic) -> None:
    no_metadata = KafkaTimeoutError("Failed to update metadata after 10.0 secs.")
    producer = FakeProducer(send_raises={b"b": no_metadata})
    failures = publisher_of(Factory(producer), monotonic).deliver(messages(b"a", b"b", b"c"))
    assert sorted(failures) == [1, 2]
    assert not any(f.permanent for f in failures.values())
    assert producer.sent == [b"a"], "nothing after it was sent, to wait just as long"


def test_publish_is_all_or_an_error_naming_the_first_failure(monotonic: Monotonic) -> None:
    producer = FakeProducer(broker_refuses={b"b": MessageSizeTooLargeError()})
    publisher = publisher_of(Factory(producer), monotonic)
    publisher.publish(messages(b"a"))
    with pytest.raises(BrokerUnavailable, match="publish failed: MessageSizeTooLargeError"):
        publisher.publish(messages(b"a", b"b"))


def test_a_producer_in_a_fatal_state_is_closed_and_replaced(monotonic: Monotonic) -> None:
    # Given a producer kafka-python put in a fatal state (a new broker answered its
    # InitProducerId with UnknownError): it fails every send with the error that broke it
    broken = KafkaError("Unexpected error in InitProducerIdResponse: [Error -1] UnknownError")
    first = FakeProducer(every_send=broken, fatal=True)
    second = FakeProducer()
    factory = Factory(first, second)
    publisher = publisher_of(factory, monotonic)
    # When it publishes, Then every message fails, to be sent again, and the producer is closed
    failures = publisher.deliver(messages(b"a", b"b"))
    assert sorted(failures) == [0, 1] and not any(f.permanent for f in failures.values())
    assert first.closed
    # and the next call makes a new producer, which sends
    assert publisher.deliver(messages(b"a", b"b")) == {}
    assert (factory.made, second.sent, publisher.recreated) == ([first, second], [b"a", b"b"], 1)


def test_a_fatal_state_makes_no_refusal_permanent(monotonic: Monotonic) -> None:
    # kafka-python's idempotent producer fails everything it holds with the error that made
    # it fatal: a too-large record then cannot be told from the records sent beside it
    too_large = MessageSizeTooLargeError()
    first = FakeProducer(every_send=too_large, fatal=True)
    publisher = publisher_of(Factory(first, FakeProducer()), monotonic)
    failures = publisher.deliver(messages(b"a", b"huge"))
    assert not any(f.permanent for f in failures.values())


def test_lost_producer_state_replaces_the_producer(monotonic: Monotonic) -> None:
    first = FakeProducer(broker_refuses={b"a": OutOfOrderSequenceNumberError()})
    factory = Factory(first, FakeProducer())
    publisher = publisher_of(factory, monotonic)
    assert not publisher.deliver(messages(b"a"))[0].permanent
    assert publisher.deliver(messages(b"a")) == {}
    assert (first.closed, publisher.recreated) == (True, 1)


def test_a_producer_whose_sender_thread_stopped_is_replaced_before_it_sends(
    monotonic: Monotonic,
) -> None:
    first, second = FakeProducer(), FakeProducer()
    publisher = publisher_of(Factory(first, second), monotonic)
    first._sender.alive = False
    assert publisher.deliver(messages(b"a")) == {}
    assert (first.sent, second.sent, publisher.recreated) == ([], [b"a"], 1)


def test_records_pending_past_the_delivery_timeout_replace_the_producer(
    monotonic: Monotonic,
) -> None:
    first = FakeProducer(never_done=True)
    publisher = publisher_of(Factory(first, FakeProducer()), monotonic)
    failures = publisher.deliver(messages(b"a"))
    assert failures[0].reason.startswith("KafkaTimeoutError") and not failures[0].permanent
    assert first.closed
    assert publisher.deliver(messages(b"a")) == {}


def test_a_new_producer_that_cannot_be_made_is_tried_again_with_backoff(
    monotonic: Monotonic,
) -> None:
    # Given a broken producer, and a broker that is away when the new one is made
    first = FakeProducer(every_send=OutOfOrderSequenceNumberError())
    second = FakeProducer()
    factory = Factory(first, second)
    publisher = publisher_of(factory, monotonic)
    publisher.deliver(messages(b"a"))
    factory.unreachable = 2
    # When it publishes, Then the messages fail at once, saying why, to be sent again
    failures = publisher.deliver(messages(b"a"))
    assert not failures[0].permanent
    assert failures[0].reason.startswith("no Kafka producer: Kafka at fake:9092 unreachable")
    # and no new producer is tried before the backoff (0.5 s less up to half of it) has passed
    publisher.deliver(messages(b"a"))
    assert factory.unreachable == 1
    monotonic.now += 0.5
    publisher.deliver(messages(b"a"))
    assert factory.unreachable == 0
    # and the next one waits longer (1 s less up to half of it)
    monotonic.now += 0.49
    publisher.deliver(messages(b"a"))
    assert factory.made == [first]
    monotonic.now += 0.51
    assert publisher.deliver(messages(b"a")) == {}
    assert (factory.made, publisher.recreated) == ([first, second], 1)


def test_a_producer_that_breaks_again_at_once_is_replaced_after_a_delay(
    monotonic: Monotonic,
) -> None:
    lost = OutOfOrderSequenceNumberError()
    first, second, third = (FakeProducer(every_send=lost) for _ in range(3))
    factory = Factory(first, second, third)
    publisher = publisher_of(factory, monotonic)
    publisher.deliver(messages(b"a"))
    publisher.deliver(messages(b"a"))  # the first replacement is made at once, and breaks
    publisher.deliver(messages(b"a"))
    assert factory.made == [first, second], "the second replacement waits"
    monotonic.now += 0.5
    publisher.deliver(messages(b"a"))
    assert (factory.made, publisher.recreated) == ([first, second, third], 2)
