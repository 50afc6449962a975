"""The unit of work's statements, compiled once per dialect for executemany (see bulk.py)."""

from sqlalchemy import bindparam, delete, insert, update

from complaintflow.state_store.bulk import BulkStatement
from complaintflow.state_store.tables import (
    aliases_t,
    complaints_t,
    history_t,
    inbox_t,
    open_orders_t,
    outbox_t,
    timers_t,
)

insert_complaints = BulkStatement(insert(complaints_t))
insert_inbox = BulkStatement(insert(inbox_t))
insert_history = BulkStatement(insert(history_t))
insert_outbox = BulkStatement(
    insert(outbox_t).values({c.name: bindparam(c.name) for c in outbox_t.c if c.name != "id"})
)
insert_timers = BulkStatement(insert(timers_t))
insert_aliases = BulkStatement(insert(aliases_t))
insert_open_orders = BulkStatement(insert(open_orders_t))
# set once when the complaint is received; leaving them out of the update spares SQLite the
# upkeep of the primary key and of the indexes on them
FIXED_AT_RECEIPT = {"complaint_id", "customer_id", "order_id", "received_at"}
update_complaint = BulkStatement(
    update(complaints_t)
    .where(
        complaints_t.c.complaint_id == bindparam("expected_id"),
        complaints_t.c.version == bindparam("expected_version"),
    )
    .values({c.name: bindparam(c.name) for c in complaints_t.c if c.name not in FIXED_AT_RECEIPT})
)
delete_fired_timers = BulkStatement(
    delete(timers_t).where(
        timers_t.c.complaint_id == bindparam("fired_id"),
        timers_t.c.key == bindparam("fired_key"),
        timers_t.c.due_at == bindparam("fired_due", type_=timers_t.c.due_at.type),
    )
)
delete_timers = BulkStatement(
    delete(timers_t).where(
        timers_t.c.complaint_id == bindparam("t_id"), timers_t.c.key == bindparam("t_key")
    )
)
