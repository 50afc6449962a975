"""Trend alerts, decided purely over counts: a category's volume spiking above its baseline,
and the overdue share of open complaints crossing a threshold.

No I/O here: the store counts (`TrendFigures`), this module decides. An alert's event id is
derived from its type, subject and period, so whoever finds the same trend in the same period
(a re-run, a second worker) produces the same id, and the store's unique key keeps one.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel, ConfigDict

from complaintflow.engine.core.events import SCHEMA_VERSION

TRENDS_SOURCE = "complaintflow.trends"
_TREND_NAMESPACE = uuid5(NAMESPACE_URL, "urn:complaintflow:trend")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TrendThresholds:
    window: timedelta
    baseline_windows: int
    spike_factor: float
    min_count: int
    overdue_share: float


@dataclass(frozen=True)
class TrendFigures:
    """What the store counted at `now`: complaints received per category in the last window
    and in the `baseline_windows` windows before it, when the store's first complaint was
    received, and the open and overdue-open complaints."""

    now: datetime
    window_counts: dict[str, int]
    baseline_counts: dict[str, int]
    first_received_at: datetime | None
    open: int
    overdue_open: int


class VolumeSpike(BaseModel):
    model_config = ConfigDict(frozen=True)

    category: str
    window_start: datetime
    window_end: datetime
    count: int
    baseline_mean: float
    baseline_windows: int
    factor: float
    min_count: int


class OverdueShare(BaseModel):
    model_config = ConfigDict(frozen=True)

    open: int
    overdue: int
    share: float
    threshold: float
    min_count: int


class TrendAlert(BaseModel):
    """A message on complaints.alerts. Like the engine's other alerts it carries event_id,
    type, occurred_at, source and schema_version; it belongs to no complaint, so it has no
    complaint_id, version or state. `period_start` names the period it is raised once for."""

    model_config = ConfigDict(frozen=True)

    event_id: UUID
    type: Literal["trend.volume_spike", "trend.overdue_share"]
    subject: str
    period_start: datetime
    occurred_at: datetime
    source: str = TRENDS_SOURCE
    schema_version: int = SCHEMA_VERSION
    payload: VolumeSpike | OverdueShare


def period_start(now: datetime, window: timedelta) -> datetime:
    """The start of the epoch-aligned period holding `now`: the unit of deduplication, the
    same for every worker whatever moment in the period it checks."""
    periods = (now - _EPOCH) // window
    return _EPOCH + periods * window


def baseline_windows_covered(figures: TrendFigures, thresholds: TrendThresholds) -> int:
    """Baseline windows that the store's history reaches into: a young store has fewer than
    configured, and averaging over empty windows before the first complaint would make its
    first busy hour look like a spike."""
    window_start = figures.now - thresholds.window
    first = figures.first_received_at
    if first is None or first >= window_start:
        return 0
    return min(thresholds.baseline_windows, math.ceil((window_start - first) / thresholds.window))


def volume_spikes(figures: TrendFigures, thresholds: TrendThresholds) -> list[VolumeSpike]:
    """Categories whose last window has at least `min_count` complaints and more than
    `spike_factor` times their mean per baseline window; none without a baseline."""
    covered = baseline_windows_covered(figures, thresholds)
    if covered == 0:
        return []
    spikes = []
    for category, count in sorted(figures.window_counts.items()):
        mean = figures.baseline_counts.get(category, 0) / covered
        if count >= thresholds.min_count and count > thresholds.spike_factor * mean:
            spikes.append(
                VolumeSpike(
                    category=category,
                    window_start=figures.now - thresholds.window,
                    window_end=figures.now,
                    count=count,
                    baseline_mean=round(mean, 3),
                    baseline_windows=covered,
                    factor=thresholds.spike_factor,
                    min_count=thresholds.min_count,
                )
            )
    return spikes


def overdue_share(figures: TrendFigures, thresholds: TrendThresholds) -> OverdueShare | None:
    """The overdue share of open complaints, when there are at least `min_count` open ones
    and the share exceeds the threshold."""
    if figures.open < thresholds.min_count:
        return None
    share = figures.overdue_open / figures.open
    if share <= thresholds.overdue_share:
        return None
    return OverdueShare(
        open=figures.open,
        overdue=figures.overdue_open,
        share=round(share, 4),
        threshold=thresholds.overdue_share,
        min_count=thresholds.min_count,
    )


def trend_alerts(figures: TrendFigures, thresholds: TrendThresholds) -> list[TrendAlert]:
    """Every alert the figures call for, with ids that are stable within the period."""
    start = period_start(figures.now, thresholds.window)
    found: list[tuple[str, VolumeSpike | OverdueShare]] = [
        (spike.category, spike) for spike in volume_spikes(figures, thresholds)
    ]
    share = overdue_share(figures, thresholds)
    if share is not None:
        found.append(("open_complaints", share))
    return [_alert(subject, payload, start, figures.now) for subject, payload in found]


def _alert(
    subject: str, payload: VolumeSpike | OverdueShare, start: datetime, now: datetime
) -> TrendAlert:
    kind: Literal["trend.volume_spike", "trend.overdue_share"] = (
        "trend.volume_spike" if isinstance(payload, VolumeSpike) else "trend.overdue_share"
    )
    return TrendAlert(
        event_id=uuid5(_TREND_NAMESPACE, f"{kind}|{subject}|{start.isoformat()}"),
        type=kind,
        subject=subject,
        period_start=start,
        occurred_at=now,
        payload=payload,
    )
