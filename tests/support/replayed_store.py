"""Given-helper: a store filled by the real engine without Kafka. The stream is decided by
`replay` (event time is the clock, so SLA timers fire as they would have) and its complaints
and history are written with the store's own column mapping."""

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import insert

from complaintflow.engine.core.replay import ReplayResult, replay
from complaintflow.engine.core.workflow import Workflow
from complaintflow.state_store.columns import complaint_columns, history_columns
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.tables import complaints_t, history_t

RECORDED_AT = datetime(2030, 1, 1, tzinfo=UTC)


def store_replayed(database_url: str, lines: Iterable[bytes], workflow: Workflow) -> ReplayResult:
    result = replay(lines, workflow)
    engine = open_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            insert(complaints_t),
            [complaint_columns(c, RECORDED_AT) for c in result.complaints.values()],
        )
        connection.execute(
            insert(history_t),
            [
                history_columns(e, RECORDED_AT)
                for entries in result.history.values()
                for e in entries
            ],
        )
    engine.dispose()
    return result
