"""The alert rules shipped in deploy/prometheus, checked and unit-tested by promtool, and a
real Prometheus server (Debian's `prometheus`) scraping a real `complaintflow serve` with a
token: through Prometheus's own query API, the store's figures arrive with their values and
the rules are loaded."""

import json
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from complaintflow.engine.bootstrap import load_workflow
from complaintflow.engine.embedded_broker import free_port
from complaintflow.engine.entrypoints.cli.sample_day import sample_day
from complaintflow.engine.service.worker_metrics import MetricSample
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.metrics_store import SqlAlchemyWorkerMetrics
from complaintflow.state_store.schema import upgrade
from complaintflow.state_store.summary import summarize
from tests.support.replayed_store import store_replayed
from tests.support.serving import get, serving
from tests.support.waiting import wait_for

RULES = Path(__file__).parents[2] / "deploy" / "prometheus"
TOKEN = "prometheus-scrapes-with-this"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool missing: scripts/test installs Debian's prometheus package"
    return subprocess.run(
        [tool, *args], cwd=RULES, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_alert_rules_are_valid() -> None:
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout


def test_the_alert_rules_pass_their_unit_tests() -> None:
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@contextmanager
def prometheus(tmp: Path, target: str) -> Iterator[str]:
    """Prometheus scraping `target` every second with the token, the shipped rules loaded."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus missing: scripts/test installs Debian's prometheus package"
    (tmp / "token").write_text(TOKEN)
    shutil.copy(RULES / "alerts.yml", tmp / "alerts.yml")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp / "alerts.yml")],
        "scrape_configs": [
            {
                "job_name": "complaintflow",
                "authorization": {"credentials_file": str(tmp / "token")},
                "static_configs": [{"targets": [target]}],
            }
        ],
    }
    (tmp / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(base, process), 60, "Prometheus to be ready")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _ready(base: str, process: subprocess.Popen[str]) -> bool:
    if process.poll() is not None:
        log = process.stderr.read() if process.stderr else ""
        raise AssertionError(f"prometheus exited: {log}")
    try:
        return get(f"{base}/-/ready")[0] == 200
    except OSError:
        return False


def query(base: str, promql: str) -> list[dict[str, Any]]:
    status, body = get(f"{base}/api/v1/query?query={urllib.parse.quote(promql)}")
    assert status == 200, body
    result: list[dict[str, Any]] = json.loads(body)["data"]["result"]
    return result


def values_by(result: list[dict[str, Any]], label: str) -> dict[str, float]:
    return {r["metric"].get(label, ""): float(r["value"][1]) for r in result}


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'complaintflow.db'}"
    upgrade(open_engine(url))
    store_replayed(url, sample_day(complaints=60), load_workflow())
    return url


def test_a_real_prometheus_scrapes_serve_and_sees_the_stores_figures(
    store_url: str, tmp_path: Path
) -> None:
    # Given a store of a replayed day, and a worker's saved figures
    engine = open_engine(store_url)
    expected_states = summarize(engine).by_state
    saved_at = datetime(2025, 7, 15, 12, 0, tzinfo=UTC)
    SqlAlchemyWorkerMetrics(engine).save(
        "w-prom", [MetricSample("events_applied", (), 1234)], saved_at
    )
    # When a real Prometheus scrapes a real `complaintflow serve` guarded by a token
    with (
        serving(store_url, COMPLAINTFLOW_SERVE_TOKEN=TOKEN) as service,
        prometheus(tmp_path, service.removeprefix("http://")) as base,
    ):
        wait_for(lambda: bool(query(base, "complaintflow_complaints")), 60, "a scrape of serve")
        # Then its query API gives the store's figures with their values
        assert query(base, 'up{job="complaintflow"}')[0]["value"][1] == "1"
        assert values_by(query(base, "complaintflow_complaints"), "state") == {
            state: float(n) for state, n in expected_states.items()
        }
        assert values_by(query(base, "complaintflow_worker_events_applied_total"), "worker") == {
            "w-prom": 1234.0
        }
        assert values_by(
            query(base, "complaintflow_worker_last_report_timestamp_seconds"), "worker"
        ) == {"w-prom": saved_at.timestamp()}
        assert query(base, "complaintflow_outbox_backlog")[0]["value"][1] == "0"
        # and the shipped rules are loaded and evaluate without error
        status, body = get(f"{base}/api/v1/rules")
        groups = json.loads(body)["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        assert status == 200 and len(rules) == 8
        wait_for(
            lambda: all(
                r["health"] == "ok"
                for g in json.loads(get(f"{base}/api/v1/rules")[1])["data"]["groups"]
                for r in g["rules"]
            ),
            30,
            "every rule evaluated",
        )
