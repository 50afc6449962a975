"""The trend store's contract, on the fake, SQLite and PostgreSQL alike: it counts complaints
by receipt time and category, and records an alert once, with its outbox row."""

from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, uuid5

from complaintflow.engine.core.batch import BatchChanges
from complaintflow.engine.core.decision import decide
from complaintflow.engine.core.trends import OverdueShare, TrendAlert, TrendFigures
from complaintflow.engine.core.workflow import Workflow
from tests.support.backends import Backend
from tests.support.builders import MONDAY_9, RECEIVED, event

NOON = MONDAY_9 + timedelta(hours=3)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def store_received(
    backend: Backend,
    workflow: Workflow,
    cid: str,
    at: datetime,
    category: str,
    state: str | None = None,
    overdue: bool = False,
) -> None:
    payload = {**RECEIVED, "category": category, "order_id": cid}
    complaint = decide(
        None, event("complaint.received", complaint_id=cid, at=at, payload=payload), at, workflow
    ).complaint
    assert complaint is not None
    complaint = complaint.model_copy(update={"overdue": overdue, "state": state or complaint.state})
    with backend.store.unit_of_work() as uow:
        uow.write(BatchChanges(loaded_versions={cid: None}, complaints={cid: complaint}))
        uow.commit()


def test_figures_count_the_window_the_baseline_and_the_open_complaints(
    backend: Backend, workflow: Workflow
) -> None:
    # Given complaints before the baseline, in it (09:00-11:00), in the window (11:00-12:00)
    # and at noon itself, some overdue, one of them resolved
    store_received(backend, workflow, "C-0", MONDAY_9 - HOUR, "refund")
    store_received(backend, workflow, "C-1", MONDAY_9 + 30 * MINUTE, "refund")
    store_received(backend, workflow, "C-2", MONDAY_9 + 75 * MINUTE, "logistics", overdue=True)
    store_received(backend, workflow, "C-3", NOON - HOUR, "refund")
    store_received(backend, workflow, "C-4", NOON - 30 * MINUTE, "refund", "resolved", True)
    store_received(backend, workflow, "C-5", NOON - MINUTE, "logistics")
    store_received(backend, workflow, "C-6", NOON, "refund")
    # When the hour before noon is counted against two baseline hours
    figures = backend.trends.figures(NOON, HOUR, 2)
    # Then
    assert figures == TrendFigures(
        now=NOON,
        window_counts={"refund": 2, "logistics": 1},
        baseline_counts={"refund": 1, "logistics": 1},
        first_received_at=MONDAY_9 - HOUR,
        open=6,
        overdue_open=1,
    )


def test_an_empty_store_counts_nothing(backend: Backend) -> None:
    assert backend.trends.figures(NOON, HOUR, 2) == TrendFigures(
        now=NOON,
        window_counts={},
        baseline_counts={},
        first_received_at=None,
        open=0,
        overdue_open=0,
    )


def test_an_alert_is_recorded_once_with_its_outbox_row(backend: Backend) -> None:
    alert = TrendAlert(
        event_id=uuid5(NAMESPACE_URL, "trend-contract"),
        type="trend.overdue_share",
        subject="open_complaints",
        period_start=NOON - HOUR,
        occurred_at=NOON,
        payload=OverdueShare(open=10, overdue=6, share=0.6, threshold=0.5, min_count=3),
    )

    def partition_of(key: str) -> int:
        return 3

    # When two workers record the same alert
    first = backend.trends.record([alert], "complaints.alerts", partition_of, NOON)
    second = backend.trends.record([alert], "complaints.alerts", partition_of, NOON + MINUTE)
    # Then only the first records it, and one row waits in the outbox of its partition
    assert (first, second) == ([alert], [])
    rows = backend.outbox.unsent({3}, 10)
    assert [(topic, key, value) for _, topic, key, value in rows] == [
        ("complaints.alerts", b"trend:open_complaints", alert.model_dump_json().encode())
    ]
