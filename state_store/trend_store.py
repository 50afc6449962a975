"""The counts behind trend alerts, and recording an alert once.

Recording writes the alert row and its outbox row in one transaction; the alert's id is the
row's primary key, so a second recorder of the same alert (a re-run, another worker) hits the
unique key, rolls back, and nothing reaches complaints.alerts twice.
"""

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Engine, Table, case, func, insert, select
from sqlalchemy.exc import IntegrityError

from complaintflow.engine.core.trends import TrendAlert, TrendFigures
from complaintflow.state_store.database import READ_ONLY
from complaintflow.state_store.models import TrendAlertRow
from complaintflow.state_store.tables import complaints_t, outbox_t

trend_alerts_t = cast(Table, TrendAlertRow.__table__)


class SqlAlchemyTrends:
    def __init__(self, engine: Engine, closed_states: Collection[str]) -> None:
        self.engine = engine
        self.closed_states = sorted(closed_states)

    def figures(self, now: datetime, window: timedelta, baseline_windows: int) -> TrendFigures:
        """Complaints received per category in [now - window, now) and in the baseline windows
        before it (event time, `received_at`), and open / overdue-open complaints."""
        window_start = now - window
        baseline_start = window_start - window * baseline_windows
        with self.engine.connect().execution_options(**READ_ONLY) as c:
            window_counts = _by_category(c, window_start, now)
            baseline_counts = _by_category(c, baseline_start, window_start)
            first = c.scalar(select(func.min(complaints_t.c.received_at)))
            open_count, overdue = c.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((complaints_t.c.overdue, 1), else_=0)), 0),
                ).where(complaints_t.c.state.not_in(self.closed_states))
            ).one()
        return TrendFigures(
            now=now,
            window_counts=window_counts,
            baseline_counts=baseline_counts,
            first_received_at=first,
            open=int(open_count),
            overdue_open=int(overdue),
        )

    def record(
        self,
        alerts: Sequence[TrendAlert],
        topic: str,
        partition_of: Callable[[str], int],
        at: datetime,
    ) -> list[TrendAlert]:
        """Write each alert not recorded before, with its outbox row; returns the new ones."""
        recorded = []
        for alert in alerts:
            key = f"trend:{alert.subject}"
            try:
                with self.engine.begin() as c:
                    c.execute(
                        insert(trend_alerts_t).values(
                            alert_id=str(alert.event_id),
                            type=alert.type,
                            subject=alert.subject,
                            period_start=alert.period_start,
                            raised_at=at,
                            payload=alert.payload.model_dump(mode="json"),
                        )
                    )
                    c.execute(
                        insert(outbox_t).values(
                            partition=partition_of(key),
                            topic=topic,
                            key=key.encode(),
                            value=alert.model_dump_json().encode(),
                            created_at=at,
                            sent_at=None,
                        )
                    )
            except IntegrityError:
                continue  # raised already in this period, by this worker or another
            recorded.append(alert)
        return recorded


def _by_category(c: Connection, start: datetime, end: datetime) -> dict[str, int]:
    received = complaints_t.c.received_at
    rows = c.execute(
        select(complaints_t.c.category, func.count())
        .where(received >= start, received < end)
        .group_by(complaints_t.c.category)
    )
    return {category: count for category, count in rows}
