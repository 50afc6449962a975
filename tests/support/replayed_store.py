"""Given-helper: a store filled by the real engine without Kafka. The stream is decided by
`replay` (event time is the clock, so SLA timers fire as they would have) and written with
the store's own column mapping."""

from collections.abc import Iterable
from datetime import UTC, datetime

from complaintflow.engine.core.replay import ReplayResult, replay
from complaintflow.engine.core.workflow import Workflow
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.replayed import write_replay

RECORDED_AT = datetime(2030, 1, 1, tzinfo=UTC)


def store_replayed(database_url: str, lines: Iterable[bytes], workflow: Workflow) -> ReplayResult:
    result = replay(lines, workflow)
    engine = open_engine(database_url)
    write_replay(engine, result, RECORDED_AT)
    engine.dispose()
    return result
