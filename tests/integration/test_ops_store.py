"""The tables `complaintflow serve` and the trend job rely on, on SQLite and PostgreSQL alike."""

from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from complaintflow.engine.service.worker_metrics import MetricSample
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.metrics_store import STALE_AFTER, STOPPED, SqlAlchemyWorkerMetrics
from complaintflow.state_store.models import Base, described_by_models
from tests.support.builders import MONDAY_9


def test_the_migrations_build_the_schema_the_models_describe(database_url: str) -> None:
    engine = open_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": described_by_models})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_a_worker_replaces_its_figures_and_stale_workers_fade(database_url: str) -> None:
    saved = SqlAlchemyWorkerMetrics(open_engine(database_url))
    refused = (("reason", "not_json"),)
    # Given two workers' figures, one of them saved long ago
    saved.save("old", [MetricSample("events_applied", (), 9)], MONDAY_9 - 2 * STALE_AFTER)
    saved.save("w1", [MetricSample("events_applied", (), 1)], MONDAY_9)
    # When w1 saves again with different figures
    later = MONDAY_9 + timedelta(seconds=5)
    saved.save(
        "w1", [MetricSample("events_applied", (), 3), MetricSample("refused", refused, 1)], later
    )
    # Then only w1's newest figures remain, labels intact
    assert saved.read() == {
        "w1": [MetricSample("events_applied", (), 3), MetricSample("refused", refused, 1)]
    }
    saved.engine.dispose()


def test_a_worker_that_stopped_cleanly_is_not_a_silent_one(database_url: str) -> None:
    saved = SqlAlchemyWorkerMetrics(open_engine(database_url))
    saved.save("running", [MetricSample("events_applied", (), 1)], MONDAY_9)
    saved.save(
        "stopped",
        [MetricSample("events_applied", (), 5), MetricSample(STOPPED, (), 1)],
        MONDAY_9,
    )
    assert set(saved.saved_at()) == {"running"}
    assert {w for w in saved.read()} == {"running", "stopped"}  # its figures stay a day
    saved.engine.dispose()
