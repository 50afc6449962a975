"""`complaintflow report` over a store of known complaints (tests/support/kpi_store.py), on
SQLite and PostgreSQL: every figure against a hand-computed value, in JSON, text and HTML."""

import json
import re
import sqlite3
from html import escape
from pathlib import Path
from typing import Any

import pytest

from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.entrypoints.cli.report import build_report
from complaintflow.engine.reporting.html import render_html
from complaintflow.engine.reporting.kpi import KpiReport
from complaintflow.engine.reporting.text import render_text
from complaintflow.state_store.database import open_engine
from tests.support.cli import run_cli
from tests.support.kpi_store import at, known_complaints, received, responded, store_complaints

MONDAY = ["--since", "2025-07-14", "--until", "2025-07-15"]


def share(count: int, total: int) -> dict[str, Any]:
    return {"count": count, "share": round(count / total, 4)}


def bucket(from_s: float, to_s: float | None, complaints: int) -> dict[str, Any]:
    return {"from_s": from_s, "to_s": to_s, "complaints": complaints}


# Monday 2025-07-14: C1..C6 (C7 came on Wednesday). Worked out in the terms of
# tests/support/kpi_store.py: first responses 120, 300, 60, (none), 180, 60 s; handling of the
# four resolved now (C2 was reopened) 7200, 7200, 3600 and 183600 s (C6: Monday 14:00 to
# Wednesday 17:00).
EXPECTED_MONDAY: dict[str, Any] = {
    "period": {"since": "2025-07-14T00:00:00+08:00", "until": "2025-07-15T00:00:00+08:00"},
    "volume": {
        "total": 6,
        "by_category": {"refund": share(3, 6), "logistics": share(2, 6), "sizing": share(1, 6)},
        "by_channel": {
            "app": share(3, 6),
            "chat": share(1, 6),
            "phone": share(1, 6),
            "web": share(1, 6),
        },
        "by_day": {"2025-07-14": 6},
    },
    "first_response": {
        "responded": 5,
        "unanswered_missed": 1,  # C4: nobody answered, its first response breached
        "mean_s": 144.0,
        "p50_s": 120.0,
        "p90_s": 300.0,
        "target_s": 180.0,
        "within_target_share": 0.6667,  # 4 of 5 answers within 3 min, and C4 missed
        "histogram": [
            bucket(0.0, 60.0, 2),
            bucket(60.0, 120.0, 1),
            bucket(120.0, 180.0, 1),
            bucket(180.0, 300.0, 1),
            bucket(300.0, 600.0, 0),
            bucket(600.0, 1800.0, 0),
            bucket(1800.0, 3600.0, 0),
            bucket(3600.0, 14400.0, 0),
            bucket(14400.0, None, 0),
        ],
    },
    "handling": {
        "resolved": 4,
        "mean_s": 50400.0,
        "max_s": 183600.0,
        "by_category": {
            "refund": {"resolved": 2, "mean_s": 95400.0, "max_s": 183600.0},
            "logistics": {"resolved": 1, "mean_s": 7200.0, "max_s": 7200.0},
            "sizing": {"resolved": 1, "mean_s": 3600.0, "max_s": 3600.0},
        },
    },
    "overdue_share": 0.3333,
    "escalations": {
        "total": 4,
        "by_level": {"supervisor": share(3, 4), "manager": share(1, 4)},
        "by_cause": {"overdue": share(3, 4), "customer_request": share(1, 4)},
    },
    "departments": {
        "finance": {
            "requests": 3,
            "answered": 3,
            "mean_s": 3600.0,
            "p90_s": 5400.0,
            "within_sla_share": 1.0,
        },
        "logistics": {
            "requests": 1,
            "answered": 0,
            "mean_s": None,
            "p90_s": None,
            "within_sla_share": 0.0,
        },
        "tech": {
            "requests": 1,
            "answered": 1,
            "mean_s": 14400.0,
            "p90_s": 14400.0,
            "within_sla_share": 0.0,
        },
    },
    "slowest_department": "tech",
    "resolution_rate": 0.6667,
    "closed_loop_rate": 0.75,
    "csat": {"responses": 5, "mean": 3.2, "distribution": {"1": 1, "2": 1, "3": 0, "4": 2, "5": 1}},
    "nps": 20.0,
    "repeat_rate": 0.4,
    "low_score_revisited_48h_share": 0.5,
    "agents": {"total": 3, "mean_complaints": 2.33, "by_agent": {"A1": 3, "A2": 2, "A3": 2}},
    "counts": {
        "received": 6,
        "resolved": 4,
        "resolved_ever": 5,
        "reopened": 2,
        "overdue": 2,
        "closed_loop": 3,
        "nps_responses": 5,
        "low_score_cases": 2,
        "low_score_followed_up": 1,
    },
}

# The same figures as table rows, as the text and HTML renderings show them.
EXPECTED_ROWS = [
    ("complaints received", "6"),
    ("first response mean / p50 / p90", "2m 24s / 2m 00s / 5m 00s"),
    ("first response within 3m 00s", "66.7%"),
    ("handling mean / longest", "14h 00m / 2d 03h"),
    ("overdue share", "33.3% (2 of 6)"),
    ("escalations", "4"),
    ("slowest department", "tech"),
    ("resolution rate", "66.7% (4 of 6)"),
    ("closed-loop rate", "75.0% (3 of 4)"),
    ("CSAT mean", "3.20 (5 answers)"),
    ("NPS", "+20.0 (5 answers)"),
    ("repeat rate", "40.0% (2 of 5)"),
    ("low scores followed up within 48 h", "50.0% (1 of 2)"),
    ("agents (mean complaints each)", "3 (2.33)"),
    ("refund", "3", "50.0%", "2", "1d 02h", "2d 03h"),
    ("logistics", "2", "33.3%", "1", "2h 00m", "2h 00m"),
    ("sizing", "1", "16.7%", "1", "1h 00m", "1h 00m"),
    ("app", "3", "50.0%"),
    ("chat", "1", "16.7%"),
    ("phone", "1", "16.7%"),
    ("web", "1", "16.7%"),
    ("responded", "5"),
    ("never answered, deadline breached", "1"),
    ("mean", "2m 24s"),
    ("p50", "2m 00s"),
    ("p90", "5m 00s"),
    ("within 3m 00s", "66.7%"),
    ("0.0s to 1m 00s", "2"),
    ("1m 00s to 2m 00s", "1"),
    ("2m 00s to 3m 00s", "1"),
    ("3m 00s to 5m 00s", "1"),
    ("5m 00s to 10m 00s", "0"),
    ("10m 00s to 30m 00s", "0"),
    ("30m 00s to 1h 00m", "0"),
    ("1h 00m to 4h 00m", "0"),
    ("over 4h 00m", "0"),
    ("supervisor", "3", "75.0%"),
    ("manager", "1", "25.0%"),
    ("overdue", "3", "75.0%"),
    ("customer_request", "1", "25.0%"),
    ("finance", "3", "3", "1h 00m", "1h 30m", "100.0%"),
    ("logistics", "1", "0", "n/a", "n/a", "0.0%"),
    ("tech (slowest)", "1", "1", "4h 00m", "4h 00m", "0.0%"),
    ("1", "1"),
    ("2", "1"),
    ("3", "0"),
    ("4", "2"),
    ("5", "1"),
    ("2025-07-14", "6"),
    ("A1", "3"),
    ("A2", "2"),
    ("A3", "2"),
]


@pytest.fixture
def known_store(database_url: str) -> str:
    store_complaints(database_url, known_complaints())
    return database_url


def report_of(url: str, workflow: Workflow, since: str | None, until: str | None) -> KpiReport:
    return build_report(open_engine(url), workflow, since, until)


def text_row(cells: tuple[str, ...]) -> str:
    return r"│\s*" + r"\s*│\s*".join(re.escape(c) for c in cells) + r"\s*│"


def html_row(cells: tuple[str, ...]) -> str:
    return "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>"


def test_report_figures_in_json_text_and_html(known_store: str, tmp_path: Path) -> None:
    """Given the known complaints, when the report for Monday is taken in each format, then
    every figure is the hand-computed one."""
    url = ["--database-url", known_store]
    as_json = run_cli("report", *MONDAY, *url, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == EXPECTED_MONDAY

    for fmt in ("text", "html"):
        out = tmp_path / f"report.{fmt}"
        done = run_cli("report", *MONDAY, *url, "--format", fmt, "--output", str(out))
        assert done.returncode == 0, done.stderr
        assert f"report written to {out}" in done.stdout
        content = out.read_text(encoding="utf-8")
        for cells in EXPECTED_ROWS:
            if fmt == "text":
                assert re.search(text_row(cells), content), cells
            else:
                assert html_row(cells) in content, cells


def test_all_time_by_default(known_store: str, workflow: Workflow) -> None:
    report = report_of(known_store, workflow, None, None)
    assert report.period.since is None and report.period.until is None
    assert report.volume.total == 7
    assert {str(day): n for day, n in report.volume.by_day.items()} == {
        "2025-07-14": 6,
        "2025-07-16": 1,
    }
    assert report.volume.by_category["other"].count == 1
    assert report.volume.by_channel["store"].count == 1
    assert report.counts.overdue == 2 and report.overdue_share == round(2 / 7, 4)


def test_a_day_without_revisits_has_no_satisfaction_figures(
    known_store: str, workflow: Workflow
) -> None:
    """Wednesday: C7 only, received and never answered."""
    report = report_of(known_store, workflow, "2025-07-16", "2025-07-17")
    assert report.volume.total == 1
    assert report.first_response.responded == 0 and report.first_response.mean_s is None
    assert report.resolution_rate == 0.0
    assert report.closed_loop_rate is None and report.repeat_rate is None
    assert report.csat.responses == 0 and report.csat.mean is None
    assert report.csat.distribution == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
    assert report.nps is None and report.low_score_revisited_48h_share is None


EMPTY: dict[str, Any] = {
    "period": {"since": "2025-08-01T00:00:00+08:00", "until": "2025-08-02T00:00:00+08:00"},
    "volume": {"total": 0, "by_category": {}, "by_channel": {}, "by_day": {}},
    "first_response": {
        "responded": 0,
        "unanswered_missed": 0,
        "mean_s": None,
        "p50_s": None,
        "p90_s": None,
        "target_s": 180.0,
        "within_target_share": None,
        "histogram": [
            bucket(low, high, 0)
            for low, high in zip(
                [0.0, 60.0, 120.0, 180.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0],
                [60.0, 120.0, 180.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0, None],
                strict=True,
            )
        ],
    },
    "handling": {"resolved": 0, "mean_s": None, "max_s": None, "by_category": {}},
    "overdue_share": None,
    "escalations": {"total": 0, "by_level": {}, "by_cause": {}},
    "departments": {},
    "slowest_department": None,
    "resolution_rate": None,
    "closed_loop_rate": None,
    "csat": {"responses": 0, "mean": None, "distribution": {str(s): 0 for s in range(1, 6)}},
    "nps": None,
    "repeat_rate": None,
    "low_score_revisited_48h_share": None,
    "agents": {"total": 0, "mean_complaints": None, "by_agent": {}},
    "counts": dict.fromkeys(EXPECTED_MONDAY["counts"], 0),
}


def test_a_period_without_complaints_is_all_null_or_zero(
    known_store: str, workflow: Workflow, tmp_path: Path
) -> None:
    report = report_of(known_store, workflow, "2025-08-01", "2025-08-02")
    assert report.model_dump(mode="json") == EMPTY
    text, html = render_text(report), render_html(report)
    for cells in [("complaints received", "0"), ("resolution rate", "n/a (0 of 0)")]:
        assert re.search(text_row(cells), text) and html_row(cells) in html
    assert html.count(">no data</text>") == 4  # every chart but the (all-zero) histogram


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "last tuesday"], "--since 'last tuesday': expected YYYY-MM-DD"),
        (["--until", "2025-13-01"], "--until '2025-13-01': expected YYYY-MM-DD"),
        (["--since", "2025-07-15", "--until", "2025-07-14"], "is not after --since"),
        (["--output", "/no/such/dir/report.html"], "--output /no/such/dir/report.html: cannot"),
        (["--format", "pdf"], "Invalid value for '--format'"),
        (["--since", "0001-01-01"], "--since '0001-01-01': out of range, expected a moment"),
        (["--until", "9999-12-31"], "--until '9999-12-31': out of range, expected a moment"),
        (["--since", "x" * 100_000], "--since '" + "x" * 39 + "…': expected YYYY-MM-DD"),
    ],
)
def test_bad_options_are_one_line_and_a_non_zero_exit(
    sqlite_url: str, args: list[str], message: str
) -> None:
    done = run_cli("report", "--database-url", sqlite_url, *args)
    assert done.returncode == 2
    assert message in done.stderr
    if "--format" not in args:  # typer's own usage errors come in a box
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert len(done.stderr) < 200


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "bad database URL 'not a url'"),
        ("nonsense://", "unsupported driver"),
        ("sqlite:////no/such/file.db", "no such SQLite file /no/such/file.db"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/none", "database unreachable"),
        (
            "postgresql+psycopg://cf:S3cretPw@127.0.0.1:1/none",
            "database unreachable: connection failed: connection to server at",
        ),
        (
            "postgresql+psycopg://cf:S3cret@Pw@127.0.0.1:1/none",
            "an @ in the user name or password is written %40",
        ),
    ],
)
def test_a_bad_database_url_is_one_line(url: str, message: str) -> None:
    done = run_cli("report", "--database-url", url)
    assert done.returncode == 2
    assert done.stderr.startswith("complaintflow: ") and message in done.stderr
    assert done.stderr.count("\n") == 1
    assert "S3cret" not in done.stderr and "Pw@" not in done.stderr
    assert not Path("/no/such/file.db").exists()


def test_a_database_behind_the_schema_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    done = run_cli("report", "--database-url", f"sqlite:///{empty}")
    assert done.returncode == 2
    assert "database is empty" in done.stderr and "complaintflow db upgrade" in done.stderr


def test_agent_ids_are_shown_as_written_not_as_markup(sqlite_url: str, workflow: Workflow) -> None:
    # Given agents whose free-text ids look like rich markup
    hostile = received("C-x", "refund", "web", at(14, 9))
    hostile.then("agent.responded", at(14, 9, 1), responded("bob[/i]"), "responded")
    hostile.then("agent.responded", at(14, 9, 2), responded("[bold]eve"), "responded")
    store_complaints(sqlite_url, [hostile])
    # When the text report is rendered, Then it neither fails nor swallows them
    text = render_text(report_of(sqlite_url, workflow, None, None))
    assert "bob[/i]" in text and "[bold]eve" in text


def test_the_report_reads_while_a_worker_holds_the_write_lock(sqlite_url: str) -> None:
    # Given a worker's batch holding SQLite's write lock (BEGIN IMMEDIATE)
    store_complaints(sqlite_url, known_complaints())
    writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        # When ops ask for the report, Then it answers from a snapshot without waiting
        done = run_cli("report", "--database-url", sqlite_url, "--format", "json", timeout=20)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["volume"]["total"] == 7
