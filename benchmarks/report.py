"""Benchmark of the KPI report on a large store: time to compute the full report.

Fills a fresh store, migrated back to 0004, with synthetic complaints (default 1,000,000, about 5.7
history rows each: received, graded, a first response, and as it happens a collaboration
request with its assignment and reply, an escalation, a resolution and a revisit, over 30
days; complaint rows carry a 760-byte aggregate) with Core executemany, then migrates it to
head, which back-fills the KPI read model from that history (timed), runs ANALYZE, then times
`compute_report` (all time twice, then one week). SQLite in a
temporary file; PostgreSQL on a throwaway server started with pytest-postgresql's executor
from Debian's binaries (as the tests do), or at --postgresql-url. Not a test: it prints.

    .venv/bin/python -m benchmarks.report [--complaints 1000000] [--backend sqlite|postgresql]
"""

import argparse
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, text

from complaintflow.engine.bootstrap import load_workflow
from complaintflow.engine.reporting.kpi import report_request
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.kpi.queries import compute_report
from complaintflow.state_store.schema import downgrade, upgrade
from complaintflow.state_store.tables import complaints_t, history_t
from tests.support.postgres_server import fresh_database, postgres_server

START = datetime(2025, 7, 1, tzinfo=UTC)
DAYS = 30
BEFORE_READ_MODEL = "0004"
CHUNK = 20_000
CATEGORIES = {"refund": 42, "logistics": 20, "service_attitude": 15, "description_mismatch": 10}
CATEGORIES |= {"sizing": 8, "product_quality": 3, "installation": 1, "other": 1}
CHANNELS = {"app": 30, "web": 20, "phone": 20, "chat": 12, "social": 8, "email": 6, "store": 4}
DEPARTMENTS = ["logistics", "finance", "product", "warehouse", "tech", "after_sales"]
CAUSES = ["overdue", "disputed_responsibility", "missing_evidence", "customer_request"]
LEVELS = ["supervisor", "supervisor", "supervisor", "manager", "director"]
# The complaint row's aggregate JSON is not read by the report, but its size decides what a
# scan of the complaints table costs: 760 bytes, the mean in the demo's store.
AGGREGATE = '{"padding": "' + "x" * 745 + '"}'


class Synthetic:
    """Deterministic synthetic complaints: one complaint row and its history rows at a time."""

    def __init__(self, total: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.total = total
        self.step = DAYS * 86400 / total
        self.categories, self.category_weights = list(CATEGORIES), list(CATEGORIES.values())
        self.channels, self.channel_weights = list(CHANNELS), list(CHANNELS.values())

    def complaint(self, n: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        rng, cid = self.rng, f"C{n:08d}"
        received = START + timedelta(seconds=n * self.step)
        category = rng.choices(self.categories, self.category_weights)[0]
        channel = rng.choices(self.channels, self.channel_weights)[0]
        responded = received + timedelta(seconds=rng.expovariate(1 / 200))
        log: list[tuple[str, datetime, dict[str, Any], str]] = [
            ("complaint.received", received, {"channel": channel, "category": category}, "graded"),
            ("complaint.graded", received, {"priority": "P3", "department": "finance"}, "graded"),
            ("agent.responded", responded, {"agent_id": f"A{rng.randrange(400):03d}"}, "responded"),
        ]
        at = responded
        if rng.random() < 0.3:
            department = rng.choice(DEPARTMENTS)
            at += timedelta(minutes=rng.uniform(5, 30))
            due = (at + timedelta(hours=3)).isoformat()
            log.append(("collaboration.requested", at, {"department": department}, "collaboration"))
            log.append(
                (
                    "assignment.created",
                    at,
                    {"department": department, "due_at": due},
                    "collaboration",
                )
            )
            if rng.random() < 0.95:
                at += timedelta(seconds=rng.expovariate(1 / 7200))
                log.append(("department.replied", at, {"department": department}, "responded"))
        overdue = responded - received > timedelta(minutes=3) or rng.random() < 0.05
        if overdue and rng.random() < 0.4:
            cause = {"level": rng.choice(LEVELS), "cause": rng.choice(CAUSES)}
            log.append(("complaint.escalated", at, cause, log[-1][3]))
        resolved_at, state, reopened = None, log[-1][3], 0
        if rng.random() < 0.9:
            at = resolved_at = at + timedelta(hours=rng.uniform(0.5, 10))
            log.append(("complaint.resolved", at, {"resolution": "refund"}, "resolved"))
            state = "resolved"
            if rng.random() < 0.85:
                csat = rng.choices([5, 4, 3, 2, 1], weights=[50, 28, 10, 7, 5])[0]
                satisfied = csat >= 3
                state = "revisited" if satisfied else "responded"
                reopened = 0 if satisfied else 1
                at += timedelta(hours=rng.uniform(2, 20))
                survey = {"reached": True, "satisfied": satisfied, "csat": csat, "nps": csat * 2}
                log.append(("customer.revisited", at, survey, state))
        row = {
            "complaint_id": cid,
            "state": state,
            "version": len(log),
            "workflow_version": 1,
            "priority": "P3",
            "department": "finance",
            "escalation_level": None,
            "category": category,
            "channels": channel,
            "customer_id": f"U{n}",
            "order_id": None,
            "received_at": received,
            "first_response_at": responded,
            "resolved_at": resolved_at,
            "overdue": overdue,
            "reopen_count": reopened,
            "aggregate": AGGREGATE,
            "updated_at": received,
        }
        history = [
            {
                "complaint_id": cid,
                "version": version,
                "event_id": f"{cid}-{version}",
                "type": type_,
                "state": after,
                "occurred_at": when,
                "source": "bench",
                "payload": payload,
                "recorded_at": when,
            }
            for version, (type_, when, payload, after) in enumerate(log, start=1)
        ]
        return row, history


def fill(engine: Engine, total: int) -> int:
    """Insert `total` complaints in chunks (one executemany per table and chunk)."""
    synthetic, history_rows = Synthetic(total), 0
    for first in range(0, total, CHUNK):
        complaints, history = [], []
        for n in range(first, min(first + CHUNK, total)):
            row, rows = synthetic.complaint(n)
            complaints.append(row)
            history.extend(rows)
        with engine.begin() as connection:
            connection.execute(insert(complaints_t), complaints)
            connection.execute(insert(history_t), history)
        history_rows += len(history)
    return history_rows


@contextmanager
def throwaway_postgresql() -> Iterator[str]:
    """A PostgreSQL server of Debian's binaries in a temporary directory (as the tests start),
    with memory for sorts and a cache of its own size."""
    with (
        postgres_server("-c shared_buffers=256MB -c work_mem=64MB") as server,
        fresh_database(server) as url,
    ):
        yield url


def measure(name: str, url: str, total: int) -> None:
    engine = open_engine(url)
    upgrade(engine)  # the throwaway PostgreSQL database is at head already
    downgrade(engine, BEFORE_READ_MODEL)
    started = time.perf_counter()
    history_rows = fill(engine, total)
    filled = time.perf_counter() - started
    print(f"{name}: {total:,} complaints, {history_rows:,} history rows inserted in {filled:.1f} s")
    started = time.perf_counter()
    upgrade(engine)
    migrated = time.perf_counter() - started
    print(f"{name}: KPI read model back-filled by the migration in {migrated:.1f} s")
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    workflow = load_workflow()
    week = (START + timedelta(days=7), START + timedelta(days=14))
    for label, since, until in [
        ("all time", None, None),
        ("all time", None, None),
        ("one week", *week),
    ]:
        started = time.perf_counter()
        report = compute_report(engine, report_request(workflow, since, until))
        took = time.perf_counter() - started
        print(f"{name}: full report, {label} ({report.volume.total:,} complaints): {took:.2f} s")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgresql-url", help="an empty database (else a throwaway server)")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="complaintflow-bench-") as directory:
            measure("sqlite", f"sqlite:///{directory}/report.db", args.complaints)
    if args.backend in ("postgresql", "both"):
        if args.postgresql_url:
            measure("postgresql", args.postgresql_url, args.complaints)
        else:
            with throwaway_postgresql() as url:
                measure("postgresql", url, args.complaints)


if __name__ == "__main__":
    main()
