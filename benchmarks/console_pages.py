"""Benchmark of the ops console's pages: how long `complaintflow serve` takes to render each
page, in process (no network), on the demo's store and on a large synthetic one.

The demo's store: the demo's day (400 complaints) decided by the engine (`replay`) and
written with the store's columns. The large one: benchmarks/report.py's synthetic complaints
(default 100,000) and the demo's day beside them (the complaint page shows one of those).
Each page is asked `--rounds` times after one warm-up; the median and the slowest are
printed. Not a test: it prints.

    .venv/bin/python -m benchmarks.console_pages [--complaints 100000] [--rounds 20]
"""

import argparse
import statistics
import tempfile
import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from benchmarks.report import fill
from complaintflow.engine.bootstrap import build_http_app, load_workflow
from complaintflow.engine.entrypoints.cli.sample_day import sample_day
from complaintflow.engine.entrypoints.cli.serve import kpi_report
from complaintflow.engine.settings import Settings
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.schema import upgrade
from complaintflow.state_store.tables import complaints_t
from tests.support.replayed_store import store_replayed

HTML = {"accept": "text/html"}


def measure(name: str, url: str, rounds: int) -> None:
    engine = open_engine(url)
    with engine.connect() as c:
        row = c.execute(
            select(complaints_t.c.complaint_id, complaints_t.c.customer_id)
            .where(complaints_t.c.complaint_id.like("C-%"))  # one the engine decided
            .order_by(complaints_t.c.version.desc())
            .limit(1)
        ).one()
    engine.dispose()
    app = build_http_app(Settings(database_url=url), report=kpi_report(load_workflow()))
    pages = {
        "overview /": "/",
        "complaint /c/{id}": f"/c/{row.complaint_id}",
        "search /search?q=<customer>": f"/search?q={row.customer_id}",
        "report page /report": "/report",
    }
    with TestClient(app) as client:
        for label, path in pages.items():
            took = []
            for attempt in range(rounds + 1):
                started = time.perf_counter()
                response = client.get(path, headers=HTML)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, (path, response.status_code)
                if attempt:  # the first is the warm-up
                    took.append(elapsed)
            print(
                f"{name}: {label}: median {statistics.median(took) * 1000:,.1f} ms, "
                f"slowest {max(took) * 1000:,.1f} ms ({rounds} requests)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="complaintflow-bench-") as directory:
        demo = f"sqlite:///{directory}/demo.db"
        upgrade(open_engine(demo))
        store_replayed(demo, sample_day(complaints=400), load_workflow())
        measure("demo's store (400 complaints)", demo, args.rounds)
        large = f"sqlite:///{directory}/large.db"
        engine = open_engine(large)
        upgrade(engine)
        fill(engine, args.complaints)
        engine.dispose()
        store_replayed(large, sample_day(complaints=400), load_workflow())
        measure(f"synthetic store ({args.complaints:,} complaints)", large, args.rounds)


if __name__ == "__main__":
    main()
