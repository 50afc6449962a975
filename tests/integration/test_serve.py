"""`complaintflow serve` as a real process on a free port, against a SQLite store whose
contents the test knows: the engine processed two batches there, as a worker would."""

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select

from complaintflow.consumers.kafka_consumer import partitioner
from complaintflow.engine.bootstrap import build_http_app
from complaintflow.engine.core.events import timer_fired
from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.embedded_broker import free_port
from complaintflow.engine.entrypoints.http.app import READERS
from complaintflow.engine.reporting.kpi import KpiReport, report_request
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.service.processing import BatchProcessor
from complaintflow.engine.service.worker_metrics import MeasuredProcessor, WorkerMetrics
from complaintflow.engine.settings import Settings
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.kpi.queries import compute_report
from complaintflow.state_store.metrics_store import SqlAlchemyWorkerMetrics
from complaintflow.state_store.outbox_store import SqlAlchemyOutbox
from complaintflow.state_store.schema import upgrade
from complaintflow.state_store.tables import outbox_t, timers_t
from complaintflow.state_store.unit_of_work import SqlAlchemyStore
from tests.support.builders import MONDAY_9, RECEIVED, raw
from tests.support.serving import complaintflow, get, get_json, serve_env, serving
from tests.support.waiting import wait_for

TOKEN = "ops-token-0123456789abcdef"
SERVED_AT = MONDAY_9 + timedelta(minutes=10)  # the service's clock starts here
VIP_SOCIAL = {**RECEIVED, "channel": "social", "customer_tier": "vip", "amount": "2500.00"}


@dataclass(frozen=True)
class Store:
    url: str
    outbox_unsent: int
    due_timers: int


def message(offset: int, key: str | None, value: bytes) -> InboundMessage:
    return InboundMessage(
        topic="complaints.inbound",
        partition=0,
        offset=offset,
        key=None if key is None else key.encode(),
        value=value,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, workflow: Workflow) -> Store:
    """C-1 (P1) received, the same order again on the app as C-1b (merged), its first
    response warned and breached (escalated); C-2 received and answered; C-3 (P1) received
    with its warning and breach timers left due; one undecodable message; worker-a's
    figures saved; three outbox rows published."""
    url = f"sqlite:///{tmp_path_factory.mktemp('serve') / 'complaintflow.db'}"
    engine = open_engine(url)
    upgrade(engine)
    clock = FixedClock(MONDAY_9)
    metrics = WorkerMetrics()
    processor = MeasuredProcessor(
        BatchProcessor(SqlAlchemyStore(engine, clock), workflow, clock, Topics(), partitioner(4)),
        metrics,
    )
    minute = timedelta(minutes=1)
    c2 = {**RECEIVED, "customer_id": "U2", "order_id": "O2", "category": "logistics"}
    c3 = {**VIP_SOCIAL, "customer_id": "U3", "order_id": "O3"}
    processor.process(
        [
            message(0, "C-1", raw("complaint.received", complaint_id="C-1", payload=VIP_SOCIAL)),
            message(
                1, "C-1b", raw("complaint.received", complaint_id="C-1b", at=MONDAY_9 + minute)
            ),
            message(
                2,
                "C-2",
                raw("complaint.received", complaint_id="C-2", at=MONDAY_9 + minute, payload=c2),
            ),
            message(3, "C-2", raw("agent.responded", complaint_id="C-2", at=MONDAY_9 + 2 * minute)),
            message(4, "C-3", raw("complaint.received", complaint_id="C-3", payload=c3)),
            message(5, None, b"{oops"),
        ]
    )
    clock.advance(SERVED_AT - MONDAY_9)
    with engine.connect() as c:
        c1_timers = c.execute(
            select(timers_t.c.key, timers_t.c.due_at)
            .where(timers_t.c.complaint_id == "C-1", timers_t.c.key.like("first_response.%"))
            .order_by(timers_t.c.due_at)
        ).all()
    processor.process(
        [
            message(6 + i, "C-1", timer_fired("C-1", key, due).model_dump_json().encode())
            for i, (key, due) in enumerate(c1_timers)
        ]
    )
    SqlAlchemyWorkerMetrics(engine).save("worker-a", metrics.samples(), clock.now())
    outbox = SqlAlchemyOutbox(engine)
    outbox.mark_sent([row[0] for row in outbox.unsent([0, 1, 2, 3], limit=3)], clock.now())
    with engine.connect() as c:
        unsent = c.scalar(select(func.count()).where(outbox_t.c.sent_at.is_(None)))
        due = c.scalar(select(func.count()).where(timers_t.c.due_at <= SERVED_AT))
    engine.dispose()
    return Store(url=url, outbox_unsent=unsent or 0, due_timers=due or 0)


@pytest.fixture(scope="module")
def service(store: Store) -> Iterator[str]:
    with serving(store.url, COMPLAINTFLOW_CLOCK_START=SERVED_AT.isoformat()) as base:
        yield base


@pytest.fixture(scope="module")
def guarded_service(store: Store) -> Iterator[str]:
    with serving(
        store.url, COMPLAINTFLOW_CLOCK_START=SERVED_AT.isoformat(), COMPLAINTFLOW_SERVE_TOKEN=TOKEN
    ) as base:
        yield base


def test_a_complaint_with_its_timeline(service: str) -> None:
    status, body = get_json(f"{service}/complaints/C-1")
    assert status == 200
    assert {k: v for k, v in body.items() if k != "timeline"} == {
        "complaint_id": "C-1",
        "state": "graded",
        "version": 6,
        "priority": "P1",
        "department": "finance",
        "escalation_level": "supervisor",
        "category": "refund",
        "channels": ["social", "app"],
    }
    timeline = body["timeline"]
    assert [(e["version"], e["type"]) for e in timeline] == [
        (1, "complaint.received"),
        (2, "complaint.graded"),
        (3, "complaint.merged"),
        (4, "sla.warning"),
        (5, "sla.breached"),
        (6, "complaint.escalated"),
    ]
    assert {e["state"] for e in timeline[1:]} == {"graded"}
    assert timeline[0]["payload"]["channel"] == "social"
    assert timeline[4]["payload"]["deadline"] == "first_response"
    assert timeline[0]["occurred_at"].startswith("2025-07-14T01:00:00")


def test_a_merged_id_shows_the_complaint_it_joined(service: str) -> None:
    status, body = get_json(f"{service}/complaints/C-1b")
    assert (status, body["complaint_id"], len(body["timeline"])) == (200, "C-1", 6)


def test_an_unknown_complaint_is_a_json_404(service: str) -> None:
    assert get_json(f"{service}/complaints/C-404") == (404, {"error": "complaint C-404 not found"})


def test_the_report_counts_complaints_received_in_the_period(service: str) -> None:
    # C-1 and C-3 at 9:00, C-2 at 9:01 (C-1b was merged, so it is no complaint of its own)
    since, until = "2025-07-14T09:00:00%2B08:00", "2025-07-14T09:01:00%2B08:00"
    status, body = get_json(f"{service}/report?since={since}&until={until}")
    assert status == 200
    assert body["volume"]["total"] == 2
    assert body["period"] == {
        "since": "2025-07-14T09:00:00+08:00",
        "until": "2025-07-14T09:01:00+08:00",
    }
    assert get_json(f"{service}/report")[1]["volume"]["total"] == 3
    # a date is the business day (the workflow's time zone), as `complaintflow report` reads it
    assert (
        get_json(f"{service}/report?since=2025-07-14&until=2025-07-15")[1]["volume"]["total"] == 3
    )
    status, body = get_json(f"{service}/report?since=yesterday")
    assert status == 422
    assert body["error"].startswith("since 'yesterday': expected YYYY-MM-DD"), body
    assert "--since" not in body["error"]


def test_metrics_show_the_store_and_the_workers_figures(service: str, store: Store) -> None:
    status, body = get(f"{service}/metrics")
    assert status == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }
    worker = (("worker", "worker-a"),)
    # from the store: 7 inbound events applied (4 received, one of them merged, 1 answer,
    # 2 firings), breaches by deadline, backlog, and timers due by the service's clock
    assert samples[("complaintflow_events_applied_total", ())] == 7
    assert samples[("complaintflow_sla_breaches_total", (("deadline", "first_response"),))] == 1
    assert samples[("complaintflow_outbox_backlog", ())] == store.outbox_unsent > 0
    assert samples[("complaintflow_timers_due", ())] == store.due_timers == 2
    assert samples[("complaintflow_complaints", (("state", "graded"),))] == 2
    assert samples[("complaintflow_complaints", (("state", "responded"),))] == 1
    # from worker-a's saved figures: two batches, the undecodable message by its class
    assert samples[("complaintflow_worker_events_applied_total", worker)] == 7
    assert samples[("complaintflow_events_refused_total", (("reason", "not_json"), *worker))] == 1
    assert samples[("complaintflow_batch_duration_seconds_count", worker)] == 2
    assert samples[("complaintflow_batch_duration_seconds_bucket", (("le", "+Inf"), *worker))] == 2
    assert samples[("complaintflow_batch_duration_seconds_sum", worker)] > 0
    assert not any(name.startswith("complaintflow_consumer_lag") for name, _ in samples)


def test_with_a_token_every_route_but_healthz_wants_it(guarded_service: str) -> None:
    for path in ("/complaints/C-1", "/report", "/metrics"):
        assert get(f"{guarded_service}{path}")[0] == 401
        assert get(f"{guarded_service}{path}", token=TOKEN[:-1] + "x")[0] == 401
        assert get(f"{guarded_service}{path}", token=TOKEN)[0] == 200
    assert get_json(f"{guarded_service}/complaints/C-1")[1] == {
        "error": "missing or wrong bearer token"
    }
    assert get_json(f"{guarded_service}/healthz") == (200, {"status": "ok"})


def test_without_a_token_it_will_not_bind_beyond_loopback(store: Store) -> None:
    result = subprocess.run(
        complaintflow("serve", "--host", "0.0.0.0", "--port", str(free_port())),
        env=serve_env(store.url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "complaintflow: refusing to serve on 0.0.0.0 without a token: set "
        "COMPLAINTFLOW_SERVE_TOKEN (or --token), or bind to 127.0.0.1"
    ]


def test_healthz_is_503_with_the_reason_when_the_database_is_behind(tmp_path: Path) -> None:
    with serving(f"sqlite:///{tmp_path / 'empty.db'}", ready=503) as base:
        assert get_json(f"{base}/healthz")[1] == {
            "status": "unavailable",
            "reason": "database is empty, code needs 0005: run `complaintflow db upgrade` "
            "(with the same --database-url)",
        }
        # and the report says so in one line, as JSON, instead of failing with a 500
        status, body = get_json(f"{base}/report")
        assert status == 503 and "error" in body


def test_a_burst_of_concurrent_reports_all_succeed(service: str) -> None:
    # Given more concurrent requests than the service reads with at once (and than its
    # threadpool has threads)
    with ThreadPoolExecutor(100) as requests:
        # When they all ask for the report at the same moment
        answers = list(requests.map(lambda _: get(f"{service}/report", timeout=60), range(100)))
    # Then every one is answered with the report: the others waited their turn
    assert [status for status, _ in answers] == [200] * 100
    assert {json.loads(body)["volume"]["total"] for _, body in answers} == {3}


@contextmanager
def served_in_process(app: FastAPI) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, timeout=30, what="uvicorn to start")
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_reports_hold_at_most_readers_connections_and_healthz_does_not_queue(
    store: Store, workflow: Workflow
) -> None:
    """A report holds its connection for its whole read; a burst of them waits for a
    reader's turn rather than for a pooled connection (which gives up after pool_timeout,
    with waiters served in no order), and /healthz answers beside the burst."""
    holding, peak, done = 0, 0, 0
    lock = threading.Lock()

    def slow_report(engine: Engine, since: str | None, until: str | None) -> KpiReport:
        nonlocal holding, peak, done
        with engine.connect():
            with lock:
                holding += 1
                peak = max(peak, holding)
            time.sleep(0.1)  # a long report, holding its connection (not a synchronisation)
            with lock:
                holding -= 1
                done += 1
        return compute_report(engine, report_request(workflow))

    app = build_http_app(Settings(database_url=store.url), report=slow_report)
    with served_in_process(app) as base, ThreadPoolExecutor(60) as requests:
        # Given a burst of 60 reports of 0.1 s each, 12 turns of READERS reports at least
        burst = [requests.submit(get, f"{base}/report", None, 60) for _ in range(60)]
        wait_for(lambda: done > 0, timeout=30, what="the first report")
        # When /healthz is asked during the burst
        health = get(f"{base}/healthz")
        finished_by_then = done
        # Then it answers at once, and the reports all succeed, READERS at a time
        assert health == (200, b'{"status":"ok"}')
        assert finished_by_then < 60
        assert [f.result()[0] for f in burst] == [200] * 60
    assert peak == READERS


def test_a_bound_out_of_range_or_at_length_is_a_short_422(service: str) -> None:
    for bound in ("since=0001-01-01", "until=9999-12-31"):
        name, value = bound.split("=")
        assert get_json(f"{service}/report?{bound}") == (
            422,
            {
                "error": f"{name} {value!r}: out of range, expected a moment between "
                "1900-01-01 and 9998-12-31"
            },
        )
    status, body = get_json(f"{service}/report?since={'x' * 100_000}")
    assert status == 422
    assert body["error"].startswith(f"since '{'x' * 39}…': expected YYYY-MM-DD")
    assert len(body["error"]) < 140
    status, body = get_json(f"{service}/complaints/{'%22' * 300}")
    assert status == 422 and len(body["error"]) < 140


def test_an_unreachable_database_is_a_short_503_on_every_route() -> None:
    refused = "postgresql+psycopg://cf:S3cretPw@127.0.0.1:1/complaints"
    reason = (
        'database unreachable: connection failed: connection to server at "127.0.0.1", '
        "port 1 failed: Connection refused"
    )
    with serving(refused, ready=503) as base:
        assert get_json(f"{base}/healthz") == (503, {"status": "unavailable", "reason": reason})
        for path in ("/complaints/C-1", "/report", "/report?since=2025-07-14", "/metrics"):
            assert get_json(f"{base}{path}") == (503, {"error": reason}), path
        # a bad bound is still the caller's mistake, said before the database is asked
        assert get_json(f"{base}/report?since=0001-01-01")[0] == 422


def test_similar_cases_of_a_complaint_and_of_an_unknown_one(service: str) -> None:
    # (no complaint of this store is resolved: nothing is precedent yet)
    assert get_json(f"{service}/complaints/C-1b/similar?limit=3") == (
        200,
        {"complaint_id": "C-1", "similar": []},
    )
    assert get_json(f"{service}/complaints/C-404/similar")[0] == 404
    assert get_json(f"{service}/complaints/C-1/similar?limit=0")[0] == 422
