"""The outbox relay on in-memory fakes: owned partitions' rows published in the order written
and marked sent, each once while nothing fails; after a broker failure, nothing is tried
before the backoff delay has passed.

The relay's monotonic time is a hand-moved one here (`ManualMonotonic`): no test sleeps.
"""

from collections.abc import Sequence
from datetime import timedelta

import pytest

from complaintflow.engine.core.batch import BatchChanges, OutboundMessage
from complaintflow.engine.service.clock import FixedClock
from complaintflow.producers.outbox_relay import RETENTION, OutboxRelay
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

    def publish(self, messages: Sequence[Message]) -> None:
        super().publish(messages)
        self._monotonic.advance(1.0)


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


def test_sent_rows_are_purged_after_the_retention_at_most_once_a_minute(
    store: FakeStore, publisher: FakePublisher, monotonic: ManualMonotonic
) -> None:
    clock = store.clock
    assert isinstance(clock, FixedClock)
    relay = relay_of(store, publisher, monotonic)
    written(store, (0, "old"))
    relay.drain({0})
    # Given the retention has passed since "old" was sent
    clock.advance(RETENTION + timedelta(minutes=1))
    written(store, (0, "new"))
    # When the relay drains within the minute of its last purge, Then "old" is still kept
    monotonic.advance(30)
    relay.drain({0})
    assert len(store.tables.outbox) == 2
    # and when it drains a minute later, "old" is deleted and "new" (sent just now) kept
    monotonic.advance(31)
    relay.drain({0})
    assert [r.value for r in store.tables.outbox.values()] == [b"new"]
