"""The trend-alert job: APScheduler runs `check` in every worker; the store counts, the pure
`trend_alerts` decides, and new alerts go to the outbox (so they are durable and published
by the relay once, whichever worker found them first)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.trends import (
    TrendAlert,
    TrendThresholds,
    period_start,
    trend_alerts,
)
from complaintflow.engine.ports import Clock, TrendStore
from complaintflow.engine.settings import Settings

log = logging.getLogger(__name__)

HANDLED_STATES = frozenset({"resolved", "revisited"})
"""States in which a complaint no longer counts as open (besides the workflow's final ones)."""


def thresholds_from(settings: Settings) -> TrendThresholds:
    return TrendThresholds(
        window=settings.trend_window,
        baseline_windows=settings.trend_baseline_windows,
        spike_factor=settings.trend_spike_factor,
        min_count=settings.trend_min_count,
        overdue_share=settings.trend_overdue_share,
    )


@dataclass
class TrendWatch:
    store: TrendStore
    clock: Clock
    thresholds: TrendThresholds
    topics: Topics
    partition_of: Callable[[str], int]

    def check(self) -> list[TrendAlert]:
        """Count, decide, record; returns the alerts this call raised (not those already
        raised in this period)."""
        now = self.clock.now()
        t = self.thresholds
        # the last complete epoch-aligned window: every worker, whenever in the period it
        # looks, counts the same complaints, and a burst is judged in one window only
        figures = self.store.figures(period_start(now, t.window), t.window, t.baseline_windows)
        raised = self.store.record(
            trend_alerts(figures, t), self.topics.alerts, self.partition_of, now
        )
        for alert in raised:
            log.warning("trend alert %s for %s", alert.type, alert.subject)
        return raised
