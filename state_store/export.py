"""The inbound events a store applied, as the envelopes upstream sent: history rows that
were not the engine's own facts, for complaints received in a period, in event-time order
(a complaint's own events in version order). A cross-channel report merged into another
complaint is no event of its own in the history (the engine's complaint.merged fact is), so
it is not exported."""

import json
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Engine, func, select

from complaintflow.engine.core.draft import ENGINE_SOURCE
from complaintflow.engine.core.events import SCHEMA_VERSION
from complaintflow.state_store.database import READ_ONLY
from complaintflow.state_store.tables import complaints_t, history_t

ROWS_PER_FETCH = 5_000


def applied_inbound(
    engine: Engine, since: datetime | None, until: datetime | None
) -> Iterator[bytes]:
    """One JSON envelope per applied inbound event of the complaints received in [since,
    until), streamed (a big store is never held in memory)."""
    h, c = history_t.c, complaints_t.c
    # A complaint's events in the order it applied them (version), even when an upstream
    # clock stamped one earlier than the one before; complaints interleave by event time.
    reached = func.max(h.occurred_at).over(partition_by=h.complaint_id, order_by=h.version)
    query = (
        select(h.event_id, h.type, h.complaint_id, h.occurred_at, h.source, h.payload, h.version)
        .add_columns(reached.label("reached"))
        .join(complaints_t, c.complaint_id == h.complaint_id)
        .where(h.source != ENGINE_SOURCE)
    )
    if since is not None:
        query = query.where(c.received_at >= since)
    if until is not None:
        query = query.where(c.received_at < until)
    ordered = query.subquery()
    rows = select(ordered).order_by(ordered.c.reached, ordered.c.complaint_id, ordered.c.version)
    with engine.connect().execution_options(**READ_ONLY, yield_per=ROWS_PER_FETCH) as connection:
        for row in connection.execute(rows):
            envelope = {
                "event_id": row.event_id,
                "type": row.type,
                "complaint_id": row.complaint_id,
                "occurred_at": row.occurred_at.isoformat(),
                "source": row.source,
                "schema_version": SCHEMA_VERSION,
                "payload": row.payload,
            }
            yield json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
