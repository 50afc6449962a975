"""The inbound events a store applied, as the envelopes upstream sent: history rows that
were not the engine's own facts, for complaints received in a period, in event-time order
(a complaint's own events in version order)."""

import json
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Engine, select

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
    query = (
        select(h.event_id, h.type, h.complaint_id, h.occurred_at, h.source, h.payload)
        .join(complaints_t, c.complaint_id == h.complaint_id)
        .where(h.source != ENGINE_SOURCE)
        .order_by(h.occurred_at, h.complaint_id, h.version)
    )
    if since is not None:
        query = query.where(c.received_at >= since)
    if until is not None:
        query = query.where(c.received_at < until)
    with engine.connect().execution_options(**READ_ONLY, yield_per=ROWS_PER_FETCH) as connection:
        for row in connection.execute(query):
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
