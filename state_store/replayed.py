"""A replay's outcome written into a store with the store's own column mapping and its KPI
read model, so that the KPI code reads it as it reads a worker's store: `complaintflow
simulate` reports on replayed workflows this way, and tests fill stores without Kafka."""

from datetime import datetime

from sqlalchemy import Engine, insert, inspect

from complaintflow.engine.core.replay import ReplayResult
from complaintflow.engine.reporting.read_model import fold_history
from complaintflow.state_store.columns import complaint_columns, history_columns
from complaintflow.state_store.kpi.read_model import columns_of, write_new
from complaintflow.state_store.tables import chunks, complaints_t, history_t, kpi_complaints_t


def write_replay(engine: Engine, result: ReplayResult, recorded_at: datetime) -> None:
    """The replay's complaints and history, in one transaction, into an empty store, and the
    KPI read model folded from them. A store at a revision before the read model gets none,
    as a worker of that revision wrote none: migration 0005 folds it when the store is
    upgraded."""
    complaints = [complaint_columns(c, recorded_at) for c in result.complaints.values()]
    history = [
        history_columns(e, recorded_at) for entries in result.history.values() for e in entries
    ]
    with engine.begin() as connection:
        for part in chunks(complaints):
            connection.execute(insert(complaints_t), part)
        for part in chunks(history):
            connection.execute(insert(history_t), part)
        if inspect(connection).has_table(kpi_complaints_t.name):
            write_new(
                connection,
                [columns_of(c) for c in result.complaints.values()],
                fold_history(e for entries in result.history.values() for e in entries),
            )
