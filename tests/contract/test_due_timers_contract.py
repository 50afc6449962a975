"""The due timers' contract, on the fake, SQLite and PostgreSQL alike: timers written with a
batch are claimed once due, earliest first, by one sweeper at a time until the lease ends;
a firing consumes only the arming it fired."""

from datetime import timedelta

from complaintflow.engine.core.batch import BatchChanges
from complaintflow.engine.core.complaint import Timer
from complaintflow.engine.ports import DueTimer, Store
from tests.support.backends import Backend
from tests.support.builders import MONDAY_9

MINUTE = timedelta(minutes=1)
LEASE = timedelta(seconds=30)


def committed(store: Store, changes: BatchChanges) -> None:
    with store.unit_of_work() as uow:
        uow.write(changes)
        uow.commit()


def armed(store: Store, *timers: tuple[str, str, int]) -> None:
    """New complaints' timers: (complaint id, key, minutes after 09:00)."""
    committed(
        store,
        BatchChanges(timers_set={(c, k): Timer(k, MONDAY_9 + m * MINUTE) for c, k, m in timers}),
    )


def test_due_timers_are_claimed_earliest_first_up_to_the_limit(backend: Backend) -> None:
    armed(backend.store, ("C-1", "late", 3), ("C-2", "early", 1), ("C-3", "mid", 2))
    armed(backend.store, ("C-4", "future", 10))
    claimed = backend.timers.claim_due(MONDAY_9 + 5 * MINUTE, 2, "sweeper-a", LEASE)
    assert claimed == [
        DueTimer("C-2", "early", MONDAY_9 + MINUTE),
        DueTimer("C-3", "mid", MONDAY_9 + 2 * MINUTE),
    ]
    rest = backend.timers.claim_due(MONDAY_9 + 5 * MINUTE, 10, "sweeper-a", LEASE)
    assert rest == [DueTimer("C-1", "late", MONDAY_9 + 3 * MINUTE)]


def test_a_timer_due_exactly_now_is_due(backend: Backend) -> None:
    armed(backend.store, ("C-1", "k", 1))
    assert [t.key for t in backend.timers.claim_due(MONDAY_9 + MINUTE, 10, "a", LEASE)] == ["k"]


def test_a_claimed_timer_is_held_until_its_lease_ends(backend: Backend) -> None:
    armed(backend.store, ("C-1", "k", 0))
    now = MONDAY_9 + MINUTE
    assert len(backend.timers.claim_due(now, 10, "sweeper-a", LEASE)) == 1
    # another sweeper finds nothing while the lease lasts, up to its very end
    assert backend.timers.claim_due(now + LEASE / 2, 10, "sweeper-b", LEASE) == []
    assert backend.timers.claim_due(now + LEASE, 10, "sweeper-b", LEASE) == []
    # and claims it once the lease has run out (the first sweeper died before publishing)
    after = now + LEASE + timedelta(seconds=1)
    assert backend.timers.claim_due(after, 10, "sweeper-b", LEASE) == [
        DueTimer("C-1", "k", MONDAY_9)
    ]


def test_a_firing_consumes_only_the_arming_it_fired(backend: Backend) -> None:
    # Given C-1's timer was re-armed for 09:05 after a firing of its 09:01 arming was sent
    armed(backend.store, ("C-1", "k", 1), ("C-2", "k", 1))
    committed(
        backend.store,
        BatchChanges(
            loaded_versions={"C-1": 1}, timers_set={("C-1", "k"): Timer("k", MONDAY_9 + 5 * MINUTE)}
        ),
    )
    # When the 09:01 firings of both are consumed
    committed(
        backend.store,
        BatchChanges(
            timers_fired=[("C-1", "k", MONDAY_9 + MINUTE), ("C-2", "k", MONDAY_9 + MINUTE)]
        ),
    )
    # Then C-2's timer is gone, and C-1's 09:05 arming still comes due
    claimed = backend.timers.claim_due(MONDAY_9 + 10 * MINUTE, 10, "a", LEASE)
    assert claimed == [DueTimer("C-1", "k", MONDAY_9 + 5 * MINUTE)]


def test_a_cancelled_timer_never_comes_due(backend: Backend) -> None:
    armed(backend.store, ("C-1", "k", 1), ("C-1", "other", 2))
    committed(
        backend.store, BatchChanges(loaded_versions={"C-1": 1}, timers_cancelled={("C-1", "k")})
    )
    claimed = backend.timers.claim_due(MONDAY_9 + 10 * MINUTE, 10, "a", LEASE)
    assert [t.key for t in claimed] == ["other"]
