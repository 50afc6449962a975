"""Trend alerts decided over counts alone: spikes against the baseline, the overdue share,
and ids that repeat within a period (so the store keeps one alert per period)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from complaintflow.engine.core.trends import (
    OverdueShare,
    TrendFigures,
    TrendThresholds,
    VolumeSpike,
    baseline_windows_covered,
    overdue_share,
    period_start,
    trend_alerts,
    volume_spikes,
)

NOW = datetime(2025, 7, 14, 10, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
THRESHOLDS = TrendThresholds(
    window=HOUR, baseline_windows=24, spike_factor=2.0, min_count=10, overdue_share=0.2
)


def figures(
    window: dict[str, int] | None = None,
    baseline: dict[str, int] | None = None,
    first: datetime | None = NOW - timedelta(days=3),
    open_: int = 0,
    overdue: int = 0,
    now: datetime = NOW,
) -> TrendFigures:
    return TrendFigures(
        now=now,
        window_counts=window or {},
        baseline_counts=baseline or {},
        first_received_at=first,
        open=open_,
        overdue_open=overdue,
    )


def test_a_category_over_factor_times_its_baseline_mean_spikes() -> None:
    # Given refunds averaging 5 an hour over the last 24 hours, and 11 in the last hour
    counts = figures(window={"refund": 11, "logistics": 6}, baseline={"refund": 120})
    # Then refunds spike (11 > 2 x 5), logistics (no baseline) stays under the minimum count
    assert volume_spikes(counts, THRESHOLDS) == [
        VolumeSpike(
            category="refund",
            window_start=NOW - HOUR,
            window_end=NOW,
            count=11,
            baseline_mean=5.0,
            baseline_windows=24,
            factor=2.0,
            min_count=10,
        )
    ]


@pytest.mark.parametrize(
    ("count", "baseline", "spikes"),
    [
        (10, 120, False),  # exactly factor x mean is not above it
        (9, 0, False),  # under the minimum count, however quiet the baseline
        (10, 0, True),  # a category from nothing to the minimum count
        (200, 2400, False),  # busy, but as busy as usual
    ],
)
def test_spike_needs_both_the_factor_and_the_minimum_count(
    count: int, baseline: int, spikes: bool
) -> None:
    counts = figures(window={"refund": count}, baseline={"refund": baseline})
    assert bool(volume_spikes(counts, THRESHOLDS)) is spikes


def test_a_young_store_averages_over_the_windows_it_has() -> None:
    # Given a store whose first complaint came 2 h 30 min before the window started
    counts = figures(
        window={"refund": 12}, baseline={"refund": 15}, first=NOW - HOUR - timedelta(hours=2.5)
    )
    # Then the baseline is 3 windows (the partial one counts), mean 5: 12 > 10 spikes
    assert baseline_windows_covered(counts, THRESHOLDS) == 3
    (spike,) = volume_spikes(counts, THRESHOLDS)
    assert (spike.baseline_windows, spike.baseline_mean) == (3, 5.0)


@pytest.mark.parametrize("first", [None, NOW - timedelta(minutes=20)])
def test_no_spike_without_any_history_before_the_window(first: datetime | None) -> None:
    counts = figures(window={"refund": 50}, first=first)
    assert baseline_windows_covered(counts, THRESHOLDS) == 0
    assert volume_spikes(counts, THRESHOLDS) == []


def test_overdue_share_above_the_threshold_alerts() -> None:
    assert overdue_share(figures(open_=40, overdue=10), THRESHOLDS) == OverdueShare(
        open=40, overdue=10, share=0.25, threshold=0.2, min_count=10
    )


@pytest.mark.parametrize(("open_", "overdue"), [(40, 8), (9, 9), (0, 0)])
def test_overdue_share_at_the_threshold_or_with_few_open_is_quiet(open_: int, overdue: int) -> None:
    assert overdue_share(figures(open_=open_, overdue=overdue), THRESHOLDS) is None


def test_alert_ids_are_the_same_anywhere_in_a_period_and_differ_across_periods() -> None:
    def busy(now: datetime) -> TrendFigures:
        return figures({"refund": 30}, {"refund": 24}, open_=20, overdue=10, now=now)

    early = trend_alerts(busy(NOW.replace(minute=1)), THRESHOLDS)
    late = trend_alerts(busy(NOW.replace(minute=59)), THRESHOLDS)
    next_hour = trend_alerts(busy(NOW + HOUR), THRESHOLDS)
    assert [(a.type, a.subject) for a in early] == [
        ("trend.volume_spike", "refund"),
        ("trend.overdue_share", "open_complaints"),
    ]
    assert [a.event_id for a in early] == [a.event_id for a in late]
    assert {a.event_id for a in early}.isdisjoint(a.event_id for a in next_hour)
    assert early[0].period_start == datetime(2025, 7, 14, 10, tzinfo=UTC)


def test_periods_are_aligned_to_the_epoch_whatever_the_time_zone() -> None:
    shanghai = NOW.astimezone(timezone(timedelta(hours=8)))  # the same instant
    assert period_start(shanghai, HOUR) == period_start(NOW, HOUR)
    assert period_start(NOW, timedelta(minutes=15)) == datetime(2025, 7, 14, 10, 30, tzinfo=UTC)


def test_the_alert_message_carries_the_figures() -> None:
    (alert,) = trend_alerts(figures(window={"sizing": 12}, baseline={"sizing": 24}), THRESHOLDS)
    message = alert.model_dump(mode="json")
    assert message["type"] == "trend.volume_spike"
    assert message["source"] == "complaintflow.trends"
    assert message["payload"]["count"] == 12
    assert message["payload"]["baseline_mean"] == 1.0
    assert message["occurred_at"] == NOW.isoformat().replace("+00:00", "Z")
