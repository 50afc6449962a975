"""The outbox's contract, on the fake, SQLite and PostgreSQL alike: rows written with a batch
wait, per partition and in the order written, until marked sent; sent rows are purged after a
while, unsent ones never."""

from datetime import timedelta

from complaintflow.engine.core.batch import BatchChanges
from complaintflow.engine.core.messages import OutboundMessage
from complaintflow.engine.ports import Store
from tests.support.backends import Backend
from tests.support.builders import MONDAY_9


def message(partition: int, value: str) -> OutboundMessage:
    return OutboundMessage(
        partition=partition, topic="complaints.events", key=b"C-1", value=value.encode()
    )


def written(store: Store, *messages: OutboundMessage, commit: bool = True) -> None:
    with store.unit_of_work() as uow:
        uow.write(BatchChanges(outbox=list(messages)))
        if commit:
            uow.commit()


def values(backend: Backend, partitions: set[int], limit: int = 100) -> list[bytes]:
    return [value for _, _, _, value in backend.outbox.unsent(partitions, limit)]


def test_unsent_rows_of_the_asked_partitions_in_the_order_written(backend: Backend) -> None:
    written(backend.store, message(0, "a0"), message(1, "b0"), message(0, "a1"))
    written(backend.store, message(2, "c0"), message(0, "a2"))
    rows = backend.outbox.unsent({0, 2}, 100)
    assert [(topic, key, value) for _, topic, key, value in rows] == [
        ("complaints.events", b"C-1", b"a0"),
        ("complaints.events", b"C-1", b"a1"),
        ("complaints.events", b"C-1", b"c0"),
        ("complaints.events", b"C-1", b"a2"),
    ]
    ids = [row[0] for row in rows]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_the_oldest_rows_first_up_to_the_limit(backend: Backend) -> None:
    written(backend.store, *(message(0, f"m{n}") for n in range(5)))
    assert values(backend, {0}, limit=2) == [b"m0", b"m1"]


def test_no_partitions_no_rows(backend: Backend) -> None:
    written(backend.store, message(0, "a0"))
    assert backend.outbox.unsent(set(), 100) == []


def test_rows_of_an_uncommitted_batch_never_wait(backend: Backend) -> None:
    written(backend.store, message(0, "lost"), commit=False)
    assert values(backend, {0}) == []


def test_rows_marked_sent_no_longer_wait(backend: Backend) -> None:
    written(backend.store, message(0, "a0"), message(0, "a1"), message(1, "b0"))
    first = backend.outbox.unsent({0, 1}, 1)
    backend.outbox.mark_sent([first[0][0]], MONDAY_9)
    assert values(backend, {0, 1}) == [b"a1", b"b0"]


def test_sent_rows_are_purged_once_older_than_the_cutoff_and_unsent_ones_never(
    backend: Backend,
) -> None:
    # Given one row sent at 09:00, one sent at 10:00 and one unsent
    written(backend.store, message(0, "early"), message(0, "late"), message(0, "unsent"))
    early, late, _ = backend.outbox.unsent({0}, 100)
    backend.outbox.mark_sent([early[0]], MONDAY_9)
    backend.outbox.mark_sent([late[0]], MONDAY_9 + timedelta(hours=1))
    # When rows sent before 09:30 are purged
    purged = backend.outbox.purge_sent({0}, MONDAY_9 + timedelta(minutes=30), 100)
    # Then only the early one went, and the unsent one still waits
    assert purged == 1
    assert values(backend, {0}) == [b"unsent"]
    assert backend.outbox.purge_sent({0}, MONDAY_9 + timedelta(hours=2), 100) == 1
    assert values(backend, {0}) == [b"unsent"]


def test_a_purge_looks_only_at_the_oldest_rows_of_its_partitions(backend: Backend) -> None:
    # Given three old sent rows of partition 0 and one of partition 1
    written(backend.store, message(0, "a0"), message(1, "b0"), message(0, "a1"), message(0, "a2"))
    backend.outbox.mark_sent([row[0] for row in backend.outbox.unsent({0, 1}, 100)], MONDAY_9)
    later = MONDAY_9 + timedelta(hours=2)
    # When partition 0's two oldest rows are looked at, Then those two go, and partition 1's
    # row is another worker's to purge
    assert backend.outbox.purge_sent({0}, later, 2) == 2
    assert backend.outbox.purge_sent({0}, later, 2) == 1
    assert backend.outbox.purge_sent({0}, later, 2) == 0
    assert backend.outbox.purge_sent({1}, later, 2) == 1
