"""The complaint row's columns beside its aggregate, on SQLite and PostgreSQL: what the
reports query. (The unit of work's contract, common to every backend, is in tests/contract.)"""

from datetime import timedelta

from sqlalchemy import select

from complaintflow.engine.core.batch import BatchChanges
from complaintflow.engine.core.decision import decide
from complaintflow.engine.core.messages import InboxEntry
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.service.clock import FixedClock
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.tables import complaints_t
from complaintflow.state_store.unit_of_work import SqlAlchemyStore
from tests.support.builders import MONDAY_9, event


def test_an_update_writes_the_new_state_and_leaves_the_columns_fixed_at_receipt(
    database_url: str, workflow: Workflow
) -> None:
    store = SqlAlchemyStore(open_engine(database_url), FixedClock(MONDAY_9))
    received = decide(None, event("complaint.received"), MONDAY_9, workflow).complaint
    assert received is not None
    with store.unit_of_work() as uow:
        uow.write(
            BatchChanges(
                loaded_versions={"C-1": None},
                complaints={"C-1": received},
                inbox=[InboxEntry(key="evt-C-1", complaint_id="C-1", outcome="applied")],
            )
        )
        uow.commit()
    responded = decide(
        received, event("agent.responded", at=MONDAY_9 + timedelta(minutes=1)), MONDAY_9, workflow
    ).complaint
    assert responded is not None
    # a complaint that claims another customer and receipt time: the store keeps the first ones
    rewritten = responded.model_copy(
        update={"customer_id": "U-other", "received_at": MONDAY_9 + timedelta(days=1)}
    )
    with store.unit_of_work() as uow:
        uow.write(
            BatchChanges(loaded_versions={"C-1": received.version}, complaints={"C-1": rewritten})
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
    store.engine.dispose()
    assert tuple(row) == (
        "responded",
        responded.version,
        MONDAY_9 + timedelta(minutes=1),
        received.customer_id,
        MONDAY_9,
    )
