"""The batch processor on in-memory fakes: one transaction per batch, and a batch that lost a
race with another worker decided again from fresh state, where the inbox absorbs what the
other worker applied; after MAX_ATTEMPTS conflicts it gives up."""

import json
from datetime import timedelta

import pytest

from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.errors import ConcurrencyConflict
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.service.processing import MAX_ATTEMPTS, BatchProcessor
from complaintflow.producers.outbox_relay import OutboxRelay
from tests.support.builders import MONDAY_9, RECEIVED, raw
from tests.support.fakes import FakeOutbox, FakePublisher, FakeStore

TOPICS = Topics("complaints")


def partition_of(complaint_id: str) -> int:
    return 0


def batch(*values: bytes) -> list[InboundMessage]:
    return [
        InboundMessage(topic=TOPICS.inbound, partition=0, offset=n, key=None, value=v)
        for n, v in enumerate(values)
    ]


def received_and_answered() -> list[InboundMessage]:
    return batch(
        raw("complaint.received"), raw("agent.responded", at=MONDAY_9 + timedelta(minutes=1))
    )


@pytest.fixture
def store() -> FakeStore:
    return FakeStore(FixedClock(MONDAY_9))


def worker(store: FakeStore, workflow: Workflow) -> BatchProcessor:
    """One worker's processor; two of them over one store race as two workers would."""
    return BatchProcessor(store, workflow, store.clock, TOPICS, partition_of)


def versions(store: FakeStore, complaint_id: str) -> list[int]:
    return [e.version for e in store.history(complaint_id)]


def events_in_outbox(store: FakeStore) -> list[tuple[str, int]]:
    """(complaint, version) of the event-log rows waiting in the outbox, in the order written."""
    rows = sorted(store.tables.outbox.values(), key=lambda r: r.id)
    entries = [json.loads(r.value) for r in rows if r.topic == TOPICS.events]
    return [(e["complaint_id"], e["version"]) for e in entries]


def test_a_batch_is_written_whole_in_one_commit(store: FakeStore, workflow: Workflow) -> None:
    changes = worker(store, workflow).process(received_and_answered())
    assert (changes.applied, changes.duplicates, store.writes) == (2, 0, 1)
    assert store.tables.complaints["C-1"].state == "responded"
    assert versions(store, "C-1") == [1, 2, 3]
    assert len(store.tables.inbox) == 2
    assert events_in_outbox(store) == [("C-1", 1), ("C-1", 2), ("C-1", 3)]


def test_a_batch_another_worker_applied_first_is_decided_again_as_duplicates(
    store: FakeStore, workflow: Workflow
) -> None:
    # Given another worker commits the same batch while this one is deciding it
    messages = received_and_answered()
    rival = worker(store, workflow)
    store.rival_commits_first(lambda: rival.process(messages))
    # When this worker writes its decision
    changes = worker(store, workflow).process(messages)
    # Then its first write conflicted, and the second found both events already processed
    assert store.writes == 3  # the rival's, this worker's conflict, its retry
    assert (changes.applied, changes.duplicates) == (0, 2)
    assert versions(store, "C-1") == [1, 2, 3]
    assert len(store.tables.inbox) == 2
    assert events_in_outbox(store) == [("C-1", 1), ("C-1", 2), ("C-1", 3)]


def test_a_merge_raced_by_another_worker_never_makes_two_complaints(
    store: FakeStore, workflow: Workflow
) -> None:
    # Given another worker registers C-1 for (U1, O1) while this one decides a cross-channel
    # duplicate C-2 of the same order, having read "no open complaint for it"
    first = batch(raw("complaint.received", complaint_id="C-1"))
    phoned = {**RECEIVED, "channel": "phone"}
    second = batch(raw("complaint.received", complaint_id="C-2", payload=phoned))
    rival = worker(store, workflow)
    store.rival_commits_first(lambda: rival.process(first))
    # When this worker writes
    changes = worker(store, workflow).process(second)
    # Then the open order conflicted, and the retry merged C-2 into C-1
    assert store.writes == 3
    assert changes.aliases == {"C-2": "C-1"}
    assert set(store.tables.complaints) == {"C-1"}
    assert store.tables.open_orders[("U1", "O1")][0] == "C-1"


def test_a_conflict_then_a_clean_retry_applies_the_batch(
    store: FakeStore, workflow: Workflow
) -> None:
    store.conflicts = 1
    changes = worker(store, workflow).process(received_and_answered())
    assert (changes.applied, store.writes) == (2, 2)
    assert versions(store, "C-1") == [1, 2, 3]


def test_the_last_allowed_attempt_still_succeeds(store: FakeStore, workflow: Workflow) -> None:
    store.conflicts = MAX_ATTEMPTS - 1
    changes = worker(store, workflow).process(received_and_answered())
    assert (changes.applied, store.writes) == (2, MAX_ATTEMPTS)


def test_it_gives_up_after_max_attempts_conflicts(store: FakeStore, workflow: Workflow) -> None:
    store.conflicts = MAX_ATTEMPTS
    with pytest.raises(ConcurrencyConflict):
        worker(store, workflow).process(received_and_answered())
    assert store.writes == MAX_ATTEMPTS
    assert store.tables.complaints == {} and store.tables.outbox == {}


def test_what_a_batch_writes_the_relay_publishes_in_version_order(
    store: FakeStore, workflow: Workflow
) -> None:
    publisher = FakePublisher()
    worker(store, workflow).process(received_and_answered())
    relay = OutboxRelay(FakeOutbox(store), publisher, store.clock)
    relay.drain([0])
    log = [json.loads(v) for topic, _, v in publisher.published if topic == TOPICS.events]
    assert [(e["complaint_id"], e["version"]) for e in log] == [("C-1", 1), ("C-1", 2), ("C-1", 3)]
