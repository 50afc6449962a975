"""Durations as people write them, in workflow files and COMPLAINTFLOW_* settings."""

from datetime import timedelta

import pytest

from complaintflow.engine.settings import Settings
from complaintflow.workflows.durations import parse_duration


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("250ms", timedelta(milliseconds=250)),
        ("1m", timedelta(minutes=1)),
        ("1s500ms", timedelta(seconds=1, milliseconds=500)),
    ],
)
def test_a_written_duration_means_what_it_says(written: str, meant: timedelta) -> None:
    assert parse_duration(written) == meant


@pytest.mark.parametrize("written", ["2 hours", "10", "5 ms", "1.5s", "ms", ""])
def test_anything_else_is_refused_naming_the_forms(written: str) -> None:
    with pytest.raises(ValueError, match=r"is not a duration; write e\.g\. .* or '250ms'"):
        parse_duration(written)


def test_settings_in_milliseconds_reach_the_worker_and_its_consumers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMPLAINTFLOW_TIMER_SWEEP_EVERY", "100ms")
    monkeypatch.setenv("COMPLAINTFLOW_KAFKA_FETCH_MAX_WAIT", "10ms")
    monkeypatch.setenv("COMPLAINTFLOW_PRECEDENT_BUDGET", "20ms")
    settings = Settings()
    assert settings.timer_sweep_every == timedelta(milliseconds=100)
    assert settings.precedent_budget == timedelta(milliseconds=20)
    assert settings.kafka("127.0.0.1:9092").fetch_max_wait_ms == 10


def test_a_fetch_wait_longer_than_a_second_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPLAINTFLOW_KAFKA_FETCH_MAX_WAIT", "5s")
    with pytest.raises(ValueError, match="kafka_fetch_max_wait"):
        Settings()
