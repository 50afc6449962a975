"""The KPI read model a worker keeps batch by batch is the one migration 0005 fills from
history: the same rows and the same report, on SQLite and PostgreSQL.

The worker's path without Kafka: the sample day in small batches through the batch processor
and the SQLAlchemy store, the clock at each batch's last event, and due timers claimed from
the store and applied as the sweeper's timer.fired events would be, so that SLA breaches,
escalations and revisit requests happen, and requests, replies, revisits and their
follow-ups fall in different batches.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.events import timer_fired
from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.entrypoints.cli.sample_day import DAY_START, sample_day
from complaintflow.engine.reporting.kpi import KpiReport, report_request
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.service.processing import BatchProcessor
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.kpi.queries import compute_report
from complaintflow.state_store.schema import downgrade, upgrade
from complaintflow.state_store.tables import (
    kpi_agents_t,
    kpi_complaints_t,
    kpi_requests_t,
    kpi_revisits_t,
)
from complaintflow.state_store.timer_store import SqlAlchemyTimers
from complaintflow.state_store.unit_of_work import SqlAlchemyStore

BATCH = 25
TOPIC = "complaints.inbound"
READ_MODEL = (kpi_complaints_t, kpi_requests_t, kpi_revisits_t, kpi_agents_t)


class Worker:
    """A worker's batch path and sweeper over one store, on a clock moved by hand."""

    def __init__(self, engine: Engine, workflow: Workflow) -> None:
        self.clock = FixedClock(DAY_START)
        self.processor = BatchProcessor(
            SqlAlchemyStore(engine, self.clock),
            workflow,
            self.clock,
            Topics("complaints"),
            lambda complaint_id: 0,
        )
        self.timers = SqlAlchemyTimers(engine)
        self.offset = 0

    def consume(self, values: Sequence[bytes]) -> None:
        messages = [
            InboundMessage(topic=TOPIC, partition=0, offset=self.offset + n, key=None, value=v)
            for n, v in enumerate(values)
        ]
        self.offset += len(values)
        self.processor.process(messages)

    def sweep_until(self, at: datetime) -> None:
        """Timers due by `at` fire in due order, the clock following them, then stops at `at`."""
        while due := self.timers.claim_due(at, 50, "test", timedelta(hours=1)):
            self.clock.advance(max(timedelta(0), due[-1].due_at - self.clock.now()))
            self.consume(
                [
                    timer_fired(t.complaint_id, t.key, t.due_at).model_dump_json().encode()
                    for t in due
                ]
            )
        self.clock.advance(max(timedelta(0), at - self.clock.now()))


def run_the_day(engine: Engine, workflow: Workflow) -> None:
    lines = sample_day(complaints=150, seed=11)
    worker = Worker(engine, workflow)
    for start in range(0, len(lines), BATCH):
        batch = lines[start : start + BATCH]
        events = [e for e in map(decode_event, batch) if not isinstance(e, Refusal)]
        worker.sweep_until(max((e.occurred_at for e in events), default=worker.clock.now()))
        worker.consume(batch)
    worker.sweep_until(worker.clock.now() + timedelta(days=3))


def read_model_rows(engine: Engine) -> dict[str, list[Any]]:
    with engine.connect() as connection:
        return {
            t.name: [tuple(row) for row in connection.execute(select(t).order_by(*t.primary_key))]
            for t in READ_MODEL
        }


def reports(engine: Engine, workflow: Workflow) -> list[KpiReport]:
    morning = (DAY_START, DAY_START + timedelta(hours=4))
    return [
        compute_report(engine, report_request(workflow)),
        compute_report(engine, report_request(workflow, *morning)),
    ]


def test_the_read_model_a_worker_keeps_is_the_one_migrated_from_history(
    database_url: str, workflow: Workflow
) -> None:
    # Given a day decided batch by batch by the worker's path
    engine = open_engine(database_url)
    run_the_day(engine, workflow)
    kept, kept_reports = read_model_rows(engine), reports(engine, workflow)
    # When the read model is dropped and migrated again from the complaints and history
    downgrade(engine, "0004")
    upgrade(engine)
    # Then its rows and the reports are the same
    assert read_model_rows(engine) == kept
    assert reports(engine, workflow) == kept_reports
    # and the day exercised what the read model folds across batches
    report = kept_reports[0]
    assert report.escalations.total > 0 and report.counts.closed_loop > 0
    assert sum(d.answered for d in report.departments.values()) > 0
    assert report.counts.low_score_cases > 0 and report.counts.reopened > 0
    assert report.first_response.unanswered_missed + report.counts.overdue > 0
    engine.dispose()
