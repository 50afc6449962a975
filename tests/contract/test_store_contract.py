"""The unit of work's contract (the `Store` port), on the fake, SQLite and PostgreSQL alike:
nothing is kept unless committed, what is committed reads back whole, and every race with
another worker is a ConcurrencyConflict that leaves nothing of the losing batch."""

from datetime import timedelta

import pytest

from complaintflow.engine.core.batch import BatchChanges
from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.decision import decide
from complaintflow.engine.core.messages import InboxEntry
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.errors import ConcurrencyConflict
from complaintflow.engine.ports import Store
from tests.support.backends import Backend
from tests.support.builders import MONDAY_9, event


def received_changes(workflow: Workflow, complaint_id: str = "C-1") -> BatchChanges:
    """A new complaint as a batch writes it: the complaint, its history, inbox row, timers and
    its claim on the open order (U1, O1)."""
    outcome = decide(
        None, event("complaint.received", complaint_id=complaint_id), MONDAY_9, workflow
    )
    assert outcome.complaint is not None
    changes = BatchChanges(
        loaded_versions={complaint_id: None},
        complaints={complaint_id: outcome.complaint},
        history=list(outcome.entries),
        inbox=[InboxEntry(key=f"evt-{complaint_id}", complaint_id=complaint_id, outcome="applied")],
        timers_set={(complaint_id, t.key): t for t in outcome.timers_set},
    )
    changes.open_orders[("U1", "O1")] = (complaint_id, MONDAY_9)
    return changes


def committed(store: Store, changes: BatchChanges) -> None:
    with store.unit_of_work() as uow:
        uow.write(changes)
        uow.commit()


def test_rolls_back_uncommitted_work_by_default(backend: Backend, workflow: Workflow) -> None:
    with backend.store.unit_of_work() as uow:
        uow.write(received_changes(workflow))
    with backend.store.unit_of_work() as uow:
        assert uow.load(["C-1"]) == {}
        assert uow.seen(["evt-C-1"]) == set()
        assert uow.open_orders([("U1", "O1")]) == {}
    assert backend.history("C-1") == []


def test_committed_work_reads_back_whole(backend: Backend, workflow: Workflow) -> None:
    changes = received_changes(workflow)
    committed(backend.store, changes)
    with backend.store.unit_of_work() as uow:
        assert uow.load(["C-1", "C-unknown"]) == changes.complaints
        assert uow.seen(["evt-C-1", "evt-other"]) == {"evt-C-1"}
        assert uow.open_orders([("U1", "O1"), ("U1", "O2")]) == {("U1", "O1"): "C-1"}
        assert uow.resolve_aliases(["C-1"]) == {}
    assert backend.history("C-1") == [
        (1, "complaint.received", "received", MONDAY_9),
        (2, "complaint.graded", "graded", MONDAY_9),
    ]


def test_a_merged_id_resolves_to_the_complaint_it_was_merged_into(
    backend: Backend, workflow: Workflow
) -> None:
    changes = received_changes(workflow)
    changes.aliases["C-merged"] = "C-1"
    committed(backend.store, changes)
    with backend.store.unit_of_work() as uow:
        assert uow.resolve_aliases(["C-merged", "C-1", "C-other"]) == {"C-merged": "C-1"}
    assert [version for version, *_ in backend.history("C-merged")] == [1, 2]


def stored_then_responded(store: Store, workflow: Workflow) -> tuple[Complaint, Complaint]:
    """C-1 as stored after its receipt, and as an agent's reply a minute later leaves it."""
    committed(store, received_changes(workflow))
    with store.unit_of_work() as uow:
        complaint = uow.load(["C-1"])["C-1"]
    later = decide(
        complaint, event("agent.responded", at=MONDAY_9 + timedelta(minutes=1)), MONDAY_9, workflow
    )
    assert later.complaint is not None
    return complaint, later.complaint


def test_an_update_from_the_version_read_is_kept(backend: Backend, workflow: Workflow) -> None:
    complaint, responded = stored_then_responded(backend.store, workflow)
    committed(
        backend.store,
        BatchChanges(loaded_versions={"C-1": complaint.version}, complaints={"C-1": responded}),
    )
    with backend.store.unit_of_work() as uow:
        assert uow.load(["C-1"]) == {"C-1": responded}


def test_a_stale_version_is_a_conflict(backend: Backend, workflow: Workflow) -> None:
    complaint, responded = stored_then_responded(backend.store, workflow)
    stale = BatchChanges(
        loaded_versions={"C-1": complaint.version - 1}, complaints={"C-1": responded}
    )
    with backend.store.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
        uow.write(stale)


def test_a_complaint_created_twice_is_a_conflict(backend: Backend, workflow: Workflow) -> None:
    committed(backend.store, received_changes(workflow))
    again = received_changes(workflow)
    again.inbox, again.history, again.timers_set, again.open_orders = [], [], {}, {}
    with backend.store.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
        uow.write(again)


def test_the_same_inbox_key_twice_is_a_conflict(backend: Backend, workflow: Workflow) -> None:
    committed(backend.store, received_changes(workflow))
    again = BatchChanges(inbox=[InboxEntry(key="evt-C-1", complaint_id="C-1", outcome="applied")])
    with backend.store.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
        uow.write(again)


def test_the_same_history_version_twice_is_a_conflict(backend: Backend, workflow: Workflow) -> None:
    first = received_changes(workflow)
    committed(backend.store, first)
    with backend.store.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
        uow.write(BatchChanges(history=first.history[-1:]))


def test_the_same_merged_id_twice_is_a_conflict(backend: Backend, workflow: Workflow) -> None:
    changes = received_changes(workflow)
    changes.aliases["C-merged"] = "C-1"
    committed(backend.store, changes)
    with backend.store.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
        uow.write(BatchChanges(aliases={"C-merged": "C-2"}))


def test_a_conflict_keeps_nothing_of_the_batch(backend: Backend, workflow: Workflow) -> None:
    # Given C-1 stored, and a batch that creates C-2 but repeats C-1's inbox key
    committed(backend.store, received_changes(workflow, "C-1"))
    losing = received_changes(workflow, "C-2")
    losing.open_orders = {}
    losing.inbox.append(InboxEntry(key="evt-C-1", complaint_id="C-1", outcome="applied"))
    # When it is written, and its unit ends uncommitted as the processor's does on a conflict
    with backend.store.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
        uow.write(losing)
    # Then nothing of C-2 is there
    with backend.store.unit_of_work() as uow:
        assert uow.load(["C-2"]) == {}
        assert uow.seen(["evt-C-2"]) == set()
    assert backend.history("C-2") == []


def test_a_newer_complaint_takes_over_the_open_order_it_read(
    backend: Backend, workflow: Workflow
) -> None:
    committed(backend.store, received_changes(workflow, "C-1"))
    newer = received_changes(workflow, "C-2")
    newer.orders_read[("U1", "O1")] = "C-1"
    committed(backend.store, newer)
    with backend.store.unit_of_work() as uow:
        assert uow.open_orders([("U1", "O1")]) == {("U1", "O1"): "C-2"}


def test_two_workers_claiming_one_order_from_the_same_stale_read_conflict(
    backend: Backend, workflow: Workflow
) -> None:
    # Given worker A registered C-1 for (U1, O1) after worker B read "no open complaint"
    committed(backend.store, received_changes(workflow, "C-1"))
    rival = received_changes(workflow, "C-2")
    rival.orders_read[("U1", "O1")] = None
    # When B writes its own complaint for the same order, Then it must decide again
    with backend.store.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
        uow.write(rival)
    with backend.store.unit_of_work() as uow:
        assert uow.open_orders([("U1", "O1")]) == {("U1", "O1"): "C-1"}


def test_taking_over_an_order_that_changed_since_it_was_read_is_a_conflict(
    backend: Backend, workflow: Workflow
) -> None:
    # Given (U1, O1) is C-1's, while a batch read it as C-0's
    committed(backend.store, received_changes(workflow, "C-1"))
    late = received_changes(workflow, "C-2")
    late.orders_read[("U1", "O1")] = "C-0"
    with backend.store.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
        uow.write(late)


def test_a_closed_complaint_gives_up_its_order_only_if_it_still_holds_it(
    backend: Backend, workflow: Workflow
) -> None:
    committed(backend.store, received_changes(workflow, "C-1"))
    # Given a complaint that does not hold (U1, O1) closes: the order stays C-1's
    committed(backend.store, BatchChanges(closed_orders={("U1", "O1"): "C-other"}))
    with backend.store.unit_of_work() as uow:
        assert uow.open_orders([("U1", "O1")]) == {("U1", "O1"): "C-1"}
    # When C-1 closes, Then the order is free
    committed(backend.store, BatchChanges(closed_orders={("U1", "O1"): "C-1"}))
    with backend.store.unit_of_work() as uow:
        assert uow.open_orders([("U1", "O1")]) == {}
