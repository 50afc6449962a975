"""The outbox relay on in-memory fakes: owned partitions' rows published in the order written
and marked sent, each once while nothing fails; after a broker failure, nothing is tried
before the backoff delay has passed. A row the broker refuses for good goes to the DLQ and the
rows after it go on; a row that fails otherwise holds back only the rows of its key.

The relay's monotonic time is a hand-moved one here (`ManualMonotonic`): no test sleeps.
"""

import base64
import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from complaintflow.engine.core.batch import BatchChanges
from complaintflow.engine.core.messages import MAX_DEAD_LETTER_ORIGINAL, OutboundMessage
from complaintflow.engine.ports import SendFailure
from complaintflow.engine.service.clock import FixedClock
from complaintflow.producers.outbox_relay import (
    PURGE_EVERY_S,
    PURGE_IDLE_S,
    RETENTION,
    OutboxRelay,
)
from tests.support.builders import MONDAY_9
from tests.support.fakes import FakeOutbox, FakePublisher, FakeStore, Message

FIRST_DELAY = 0.2
"""The longest first backoff: base 0.2 s, less up to half of it in jitter."""
PAST = 0.001
"""Added to a delay to be past it, whatever the float arithmetic."""


class ManualMonotonic:
    """The relay's monotonic time, moving only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def monotonic() -> ManualMonotonic:
    return ManualMonotonic()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore(FixedClock(MONDAY_9))


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


def relay_of(
    store: FakeStore, publisher: FakePublisher, monotonic: ManualMonotonic, batch: int = 2000
) -> OutboxRelay:
    return OutboxRelay(
        FakeOutbox(store), publisher, store.clock, batch=batch, monotonic=monotonic.monotonic
    )


def written(store: FakeStore, *rows: tuple[int, str]) -> None:
    """Outbox rows (partition, value) committed with one batch."""
    with store.unit_of_work() as uow:
        uow.write(
            BatchChanges(
                outbox=[
                    OutboundMessage(partition=p, topic="events", key=b"C", value=v.encode())
                    for p, v in rows
                ]
            )
        )
        uow.commit()


def published(publisher: FakePublisher) -> list[str]:
    return [value.decode() for _, _, value in publisher.published]


def unsent(store: FakeStore, *partitions: int) -> list[str]:
    return [value.decode() for *_, value in FakeOutbox(store).unsent(partitions, 100)]


def test_publishes_the_owned_partitions_rows_in_the_order_written_and_marks_them_sent(
    store: FakeStore, publisher: FakePublisher, monotonic: ManualMonotonic
) -> None:
    written(store, (0, "a1"), (1, "b1"), (0, "a2"), (2, "c1"))
    written(store, (2, "c2"), (0, "a3"))
    assert relay_of(store, publisher, monotonic).drain({0, 2}) == 5
    assert published(publisher) == ["a1", "a2", "c1", "c2", "a3"]
    assert unsent(store, 0, 2) == []
    assert unsent(store, 1) == ["b1"], "a partition it does not own is left to its owner"


def test_a_backlog_goes_out_in_batches_in_order(
    store: FakeStore, publisher: FakePublisher, monotonic: ManualMonotonic
) -> None:
    written(store, *((0, f"m{n}") for n in range(5)))
    assert relay_of(store, publisher, monotonic, batch=2).drain({0}) == 5
    assert (published(publisher), publisher.attempts) == (["m0", "m1", "m2", "m3", "m4"], 3)


def test_each_row_is_published_once_while_nothing_fails(
    store: FakeStore, publisher: FakePublisher, monotonic: ManualMonotonic
) -> None:
    relay = relay_of(store, publisher, monotonic, batch=2)
    written(store, (0, "m0"), (0, "m1"), (0, "m2"))
    relay.drain({0})
    relay.drain({0})
    written(store, (0, "m3"))
    relay.drain({0})
    relay.drain({0})
    assert published(publisher) == ["m0", "m1", "m2", "m3"]


def test_after_a_failure_nothing_is_tried_before_the_backoff_delay(
    store: FakeStore, publisher: FakePublisher, monotonic: ManualMonotonic
) -> None:
    # Given the broker fails the first publish
    written(store, (0, "m0"), (0, "m1"))
    publisher.fail_next()
    relay = relay_of(store, publisher, monotonic)
    assert relay.drain({0}) == 0
    assert unsent(store, 0) == ["m0", "m1"], "a failed publish marks nothing sent"
    # When the relay is called again before the delay (at least half of 0.2 s) has passed
    relay.drain({0})
    monotonic.advance(FIRST_DELAY / 2 - 0.01)
    relay.drain({0})
    # Then it did not try again
    assert publisher.attempts == 1
    # and once the delay has passed, it publishes the same rows, once each
    monotonic.advance(FIRST_DELAY / 2 + 0.01 + PAST)
    assert relay.drain({0}) == 2
    assert (published(publisher), publisher.attempts) == (["m0", "m1"], 2)
    assert unsent(store, 0) == []


def test_failures_in_a_row_back_off_longer(
    store: FakeStore, publisher: FakePublisher, monotonic: ManualMonotonic
) -> None:
    written(store, (0, "m0"))
    publisher.fail_next(2)
    relay = relay_of(store, publisher, monotonic)
    relay.drain({0})
    monotonic.advance(FIRST_DELAY + PAST)
    relay.drain({0})  # the second failure: 0.4 s less up to half of it in jitter
    monotonic.advance(FIRST_DELAY - 0.01)
    relay.drain({0})
    assert publisher.attempts == 2
    monotonic.advance(2 * FIRST_DELAY)
    assert relay.drain({0}) == 1
    assert publisher.attempts == 3


def test_a_success_resets_the_backoff(
    store: FakeStore, publisher: FakePublisher, monotonic: ManualMonotonic
) -> None:
    # Given a failure, then a success after the delay
    relay = relay_of(store, publisher, monotonic)
    written(store, (0, "m0"))
    publisher.fail_next()
    relay.drain({0})
    monotonic.advance(FIRST_DELAY + PAST)
    assert relay.drain({0}) == 1
    assert relay.failures == 0
    # When the broker fails again
    written(store, (0, "m1"))
    publisher.fail_next()
    relay.drain({0})
    # Then the delay is a first failure's again, not a second one's
    monotonic.advance(FIRST_DELAY + PAST)
    assert relay.drain({0}) == 1
    assert published(publisher) == ["m0", "m1"]


class SlowPublisher(FakePublisher):
    """Each publish takes a second of the relay's monotonic time."""

    def __init__(self, monotonic: ManualMonotonic) -> None:
        super().__init__()
        self._monotonic = monotonic

    def deliver(self, messages: Sequence[Message]) -> dict[int, SendFailure]:
        failures = super().deliver(messages)
        self._monotonic.advance(1.0)
        return failures


def test_a_drain_stops_when_its_time_budget_is_spent(
    store: FakeStore, monotonic: ManualMonotonic
) -> None:
    # Given a backlog of five batches that take a second each to publish
    slow = SlowPublisher(monotonic)
    written(store, *((0, f"m{n}") for n in range(5)))
    relay = relay_of(store, slow, monotonic, batch=1)
    # When the relay drains with a budget of 2 s, Then it returns after two, and the next
    # drain goes on where it stopped
    assert relay.drain({0}, budget_s=2.0) == 2
    assert relay.drain({0}, budget_s=10.0) == 3
    assert published(slow) == ["m0", "m1", "m2", "m3", "m4"]


def test_sent_rows_are_purged_once_a_minute_and_each_second_while_a_full_head_goes(
    store: FakeStore, publisher: FakePublisher, monotonic: ManualMonotonic
) -> None:
    clock = store.clock
    assert isinstance(clock, FixedClock)
    relay = relay_of(store, publisher, monotonic)
    relay.purge_rows = 2
    written(store, (0, "a"), (0, "b"), (0, "c"))
    relay.drain({0})  # sent now: the purge finds nothing old yet
    # Given the retention has passed since they were sent, and "new" is sent now
    clock.advance(RETENTION + timedelta(minutes=1))
    written(store, (0, "new"))
    # When the relay drains within the minute after a purge that found nothing, Then all
    # rows are kept
    monotonic.advance(PURGE_EVERY_S)
    relay.drain({0})
    assert kept(store) == [b"a", b"b", b"c", b"new"]
    # and a minute after it, the oldest two (a full head) go, and a second later the third
    monotonic.advance(PURGE_IDLE_S)
    relay.drain({0})
    assert kept(store) == [b"c", b"new"]
    monotonic.advance(PURGE_EVERY_S)
    relay.drain({0})
    assert kept(store) == [b"new"]


def kept(store: FakeStore) -> list[bytes]:
    return [r.value for r in sorted(store.tables.outbox.values(), key=lambda r: r.id)]


DLQ = "t.dlq"
TOO_LARGE = "MessageSizeTooLargeError: The message is 2000089 bytes when serialized"


class OfferedPublisher(FakePublisher):
    """Also keeps every message it was offered, acknowledged or not."""

    def __init__(self) -> None:
        super().__init__()
        self.offered: list[Message] = []

    def deliver(self, messages: Sequence[Message]) -> dict[int, SendFailure]:
        self.offered.extend(messages)
        return super().deliver(messages)


@pytest.fixture
def offered() -> OfferedPublisher:
    return OfferedPublisher()


def dlq_relay(
    store: FakeStore, publisher: FakePublisher, monotonic: ManualMonotonic
) -> OutboxRelay:
    return OutboxRelay(
        FakeOutbox(store),
        publisher,
        store.clock,
        dead_letter_topic=DLQ,
        monotonic=monotonic.monotonic,
    )


def keyed(store: FakeStore, *rows: tuple[str, str]) -> None:
    """Outbox rows (complaint, value) of partition 0, keyed by complaint, in one batch."""
    with store.unit_of_work() as uow:
        uow.write(
            BatchChanges(
                outbox=[
                    OutboundMessage(partition=0, topic="events", key=c.encode(), value=v.encode())
                    for c, v in rows
                ]
            )
        )
        uow.commit()


def on_events(publisher: FakePublisher) -> list[str]:
    return [value.decode() for topic, _, value in publisher.published if topic == "events"]


def dead_letters(publisher: FakePublisher) -> list[dict[str, Any]]:
    return [json.loads(value) for topic, _, value in publisher.published if topic == DLQ]


def test_a_row_refused_for_good_goes_to_the_dlq_and_the_rows_after_it_go_on(
    store: FakeStore, offered: OfferedPublisher, monotonic: ManualMonotonic
) -> None:
    # Given a complaint's second row is one the broker refuses for good
    keyed(store, ("C-1", "v1"), ("C-1", "v2-huge"), ("C-1", "v3"), ("C-2", "w1"))
    offered.refuse(b"v2-huge", TOO_LARGE, permanent=True)
    relay = dlq_relay(store, offered, monotonic)
    # When the relay drains
    assert relay.drain({0}) == 3
    # Then the rows before and after it are published in order, and every row is marked sent
    assert on_events(offered) == ["v1", "v3", "w1"]
    assert unsent(store, 0) == []
    # and the refused row is on the DLQ as unpublishable, with its key and exact bytes
    row_id = next(r.id for r in store.tables.outbox.values() if r.value == b"v2-huge")
    assert dead_letters(offered) == [
        {
            "reason": f"unpublishable: {TOO_LARGE}",
            "topic": "events",
            "partition": None,
            "offset": None,
            "key": base64.b64encode(b"C-1").decode(),
            "original": base64.b64encode(b"v2-huge").decode(),
            "truncated": False,
            "size": 7,
            "outbox_id": row_id,
        }
    ]
    assert [key for topic, key, _ in offered.published if topic == DLQ] == [b"C-1"]
    assert (relay.unpublishable, relay.failures, relay.retry_at) == (1, 0, 0.0)
    # and later drains publish nothing again: no earlier version is re-published
    keyed(store, ("C-1", "v4"))
    relay.drain({0})
    relay.drain({0})
    assert on_events(offered) == ["v1", "v3", "w1", "v4"]
    assert [value for _, _, value in offered.offered].count(b"v1") == 1


def test_a_dead_letter_holds_the_first_512_kib_of_a_larger_row(
    store: FakeStore, publisher: FakePublisher, monotonic: ManualMonotonic
) -> None:
    value = b"x" * (MAX_DEAD_LETTER_ORIGINAL + 1000)
    keyed(store, ("C-1", value.decode()))
    publisher.refuse(value, TOO_LARGE, permanent=True)
    dlq_relay(store, publisher, monotonic).drain({0})
    [letter] = dead_letters(publisher)
    assert base64.b64decode(letter["original"]) == value[:MAX_DEAD_LETTER_ORIGINAL]
    assert (letter["truncated"], letter["size"]) == (True, len(value))


class DeadLetterQueueDown(FakePublisher):
    """Takes every message but those for the DLQ while `down`."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    def deliver(self, messages: Sequence[Message]) -> dict[int, SendFailure]:
        if self.down and all(topic == DLQ for topic, _, _ in messages):
            self.attempts += 1
            down = SendFailure("dlq: timed out", permanent=False)
            return dict.fromkeys(range(len(messages)), down)
        return super().deliver(messages)


def test_a_refused_row_whose_dead_letter_fails_stays_unsent_and_is_moved_aside_later(
    store: FakeStore, monotonic: ManualMonotonic
) -> None:
    # Given a refused row whose dead letter cannot be published for now
    publisher = DeadLetterQueueDown()
    keyed(store, ("C-1", "v1"), ("C-1", "huge"), ("C-2", "w1"))
    publisher.refuse(b"huge", TOO_LARGE, permanent=True)
    relay = dlq_relay(store, publisher, monotonic)
    # When the relay drains, Then the others go out and the refused row stays unsent
    assert relay.drain({0}) == 2
    assert unsent(store, 0) == ["huge"]
    assert relay.unpublishable == 0
    # and once the DLQ takes it, the row is moved aside and nothing else is published again
    monotonic.advance(FIRST_DELAY + PAST)
    publisher.down = False
    relay.drain({0})
    assert unsent(store, 0) == []
    assert relay.unpublishable == 1
    assert on_events(publisher) == ["v1", "w1"]


def test_a_row_that_fails_otherwise_holds_back_its_keys_rows_until_it_goes_in_order(
    store: FakeStore, offered: OfferedPublisher, monotonic: ManualMonotonic
) -> None:
    # Given a complaint's second row fails once, not for good
    keyed(store, ("C-1", "a1"), ("C-1", "a2"), ("C-1", "a3"), ("C-2", "b1"))
    offered.refuse(b"a2", "KafkaTimeoutError: expired", permanent=False, times=1)
    relay = dlq_relay(store, offered, monotonic)
    # When the relay drains, Then the rows before it and those of other complaints go out
    assert relay.drain({0}) == 2
    assert on_events(offered) == ["a1", "b1"]
    assert unsent(store, 0) == ["a2", "a3"], "the failed row and the rows after it wait"
    # and nothing of that complaint is tried again before the backoff delay
    tried = len(offered.offered)
    relay.drain({0})
    assert len(offered.offered) == tried
    # When the delay has passed, Then it goes on from the failed row, in order
    monotonic.advance(FIRST_DELAY + PAST)
    assert relay.drain({0}) == 2
    assert on_events(offered) == ["a1", "b1", "a2", "a3"]
    assert unsent(store, 0) == []


def test_one_complaints_failing_row_does_not_slow_the_others(
    store: FakeStore, offered: OfferedPublisher, monotonic: ManualMonotonic
) -> None:
    # Given one complaint's row keeps failing, not for good
    keyed(store, ("C-1", "stuck"), ("C-2", "b1"))
    offered.refuse(b"stuck", "UnknownError", permanent=False)
    relay = dlq_relay(store, offered, monotonic)
    assert relay.drain({0}) == 1
    # When other complaints' rows come, Then they go out at once, without the stuck one
    keyed(store, ("C-2", "b2"), ("C-3", "c1"))
    assert relay.drain({0}) == 2
    assert on_events(offered) == ["b1", "b2", "c1"]
    assert [value for _, _, value in offered.offered].count(b"stuck") == 1


class AcknowledgesBehindAFailure(FakePublisher):
    """A broker that took the rows behind a failed one of the same key all the same."""

    def __init__(self, failing: bytes, times: int) -> None:
        super().__init__()
        self.failing, self.times = failing, times

    def deliver(self, messages: Sequence[Message]) -> dict[int, SendFailure]:
        self.attempts += 1
        failures = {}
        for index, message in enumerate(messages):
            if message[2] == self.failing and self.times > 0:
                self.times -= 1
                failures[index] = SendFailure("RequestTimedOutError", permanent=False)
            else:
                self.published.append(message)
        return failures


def test_rows_acknowledged_behind_a_failed_row_go_again_after_it_once(
    store: FakeStore, monotonic: ManualMonotonic
) -> None:
    # Given a broker that fails a complaint's first row three times but took the next one
    publisher = AcknowledgesBehindAFailure(b"a1", times=3)
    keyed(store, ("C-1", "a1"), ("C-1", "a2"))
    relay = dlq_relay(store, publisher, monotonic)
    # When the relay drains until all is sent
    for _ in range(5):
        relay.drain({0})
        monotonic.advance(10.0)
    # Then a2 was not marked sent ahead of a1, went again after it, and was not published again
    # with every retry of a1: only a1 is retried while it fails
    assert unsent(store, 0) == []
    assert on_events(publisher) == ["a2", "a1", "a2"]
