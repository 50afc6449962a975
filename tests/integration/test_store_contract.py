"""The unit of work's contract, run on SQLite and on a real PostgreSQL server alike."""

from datetime import timedelta

import pytest
from builders import MONDAY_9, event
from sqlalchemy import select

from complaintflow.engine.core.batch import BatchChanges, InboxEntry
from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.decision import decide
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.errors import ConcurrencyConflict
from complaintflow.engine.service.clock import FixedClock
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.history import complaint_history
from complaintflow.state_store.tables import complaints_t
from complaintflow.state_store.unit_of_work import SqlAlchemyStore


@pytest.fixture
def store(database_url: str) -> SqlAlchemyStore:
    return SqlAlchemyStore(open_engine(database_url), FixedClock(MONDAY_9))


def received_changes(workflow: Workflow, complaint_id: str = "C-1") -> BatchChanges:
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


def test_rolls_back_uncommitted_work_by_default(store: SqlAlchemyStore, workflow: Workflow) -> None:
    with store.unit_of_work() as uow:
        uow.write(received_changes(workflow))
    with store.unit_of_work() as uow:
        assert uow.load(["C-1"]) == {}
        assert uow.seen(["evt-C-1"]) == set()


def test_committed_work_reads_back_whole(store: SqlAlchemyStore, workflow: Workflow) -> None:
    changes = received_changes(workflow)
    with store.unit_of_work() as uow:
        uow.write(changes)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.load(["C-1"]) == changes.complaints
        assert uow.seen(["evt-C-1", "evt-other"]) == {"evt-C-1"}
        assert uow.open_orders([("U1", "O1"), ("U1", "O2")]) == {("U1", "O1"): "C-1"}
    rows = complaint_history(store.engine, "C-1")
    assert [(r.version, r.type, r.state) for r in rows] == [
        (1, "complaint.received", "received"),
        (2, "complaint.graded", "graded"),
    ]
    assert rows[0].occurred_at == MONDAY_9


def stored_then_responded(
    store: SqlAlchemyStore, workflow: Workflow
) -> tuple[Complaint, Complaint]:
    """C-1 as stored after its receipt, and as an agent's reply a minute later leaves it."""
    with store.unit_of_work() as uow:
        uow.write(received_changes(workflow))
        uow.commit()
    with store.unit_of_work() as uow:
        complaint = uow.load(["C-1"])["C-1"]
    later = decide(
        complaint, event("agent.responded", at=MONDAY_9 + timedelta(minutes=1)), MONDAY_9, workflow
    )
    assert later.complaint is not None
    return complaint, later.complaint


def test_a_stale_version_is_a_conflict(store: SqlAlchemyStore, workflow: Workflow) -> None:
    complaint, responded = stored_then_responded(store, workflow)
    stale = BatchChanges(
        loaded_versions={"C-1": complaint.version - 1}, complaints={"C-1": responded}
    )
    with store.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
        uow.write(stale)


def test_an_update_writes_the_new_state_and_leaves_the_columns_fixed_at_receipt(
    store: SqlAlchemyStore, workflow: Workflow
) -> None:
    complaint, responded = stored_then_responded(store, workflow)
    # a complaint that claims another customer and receipt time: the store keeps the first ones
    rewritten = responded.model_copy(
        update={"customer_id": "U-other", "received_at": MONDAY_9 + timedelta(days=1)}
    )
    with store.unit_of_work() as uow:
        uow.write(
            BatchChanges(loaded_versions={"C-1": complaint.version}, complaints={"C-1": rewritten})
        )
        uow.commit()
    with store.engine.connect() as connection:
        row = connection.execute(
            select(
                complaints_t.c.state,
                complaints_t.c.version,
                complaints_t.c.first_response_at,
                complaints_t.c.customer_id,
                complaints_t.c.received_at,
            )
        ).one()
    assert tuple(row) == (
        "responded",
        responded.version,
        MONDAY_9 + timedelta(minutes=1),
        complaint.customer_id,
        MONDAY_9,
    )


def test_the_same_inbox_key_twice_is_a_conflict(store: SqlAlchemyStore, workflow: Workflow) -> None:
    with store.unit_of_work() as uow:
        uow.write(received_changes(workflow))
        uow.commit()
    again = BatchChanges(inbox=[InboxEntry(key="evt-C-1", complaint_id="C-1", outcome="applied")])
    with store.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
        uow.write(again)


def test_a_newer_complaint_takes_over_the_open_order_it_read(
    store: SqlAlchemyStore, workflow: Workflow
) -> None:
    with store.unit_of_work() as uow:
        uow.write(received_changes(workflow, "C-1"))
        uow.commit()
    newer = received_changes(workflow, "C-2")
    newer.orders_read[("U1", "O1")] = "C-1"
    with store.unit_of_work() as uow:
        uow.write(newer)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.open_orders([("U1", "O1")]) == {("U1", "O1"): "C-2"}


def test_two_workers_claiming_one_order_from_the_same_stale_read_conflict(
    store: SqlAlchemyStore, workflow: Workflow
) -> None:
    # Given worker A registered C-1 for (U1, O1) after worker B read "no open complaint"
    with store.unit_of_work() as uow:
        uow.write(received_changes(workflow, "C-1"))
        uow.commit()
    rival = received_changes(workflow, "C-2")
    rival.orders_read[("U1", "O1")] = None
    # When B writes its own complaint for the same order, Then it must decide again
    with store.unit_of_work() as uow, pytest.raises(ConcurrencyConflict):
        uow.write(rival)
    with store.unit_of_work() as uow:
        assert uow.open_orders([("U1", "O1")]) == {("U1", "O1"): "C-1"}
