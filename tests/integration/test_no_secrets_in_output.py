"""Nothing complaintflow writes shows the database password, and no log or error shows a
customer's personal data (description, customer id, order id, survey comment).

Every byte of every command's stdout and stderr is searched: the worker's log at INFO while
it processes a complaint that carries all four, publish with a good and a bad file, report,
timeline, db upgrade, serve (its output and its answers), the same commands failing against
an unreachable database, and every command's --help. The database is PostgreSQL, reached
as a role with a password, since only a PostgreSQL URL carries one. The one place personal
data may appear is what an operator asks for by complaint id: `timeline` and GET
/complaints/{id} show the complaint's history, payloads included; the password, never.
"""

import json
import os
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_postgresql.executors.proc import PostgreSQLExecutor
from typer.main import get_command
from typer.testing import CliRunner

from complaintflow.engine.embedded_broker import free_port
from complaintflow.engine.entrypoints.cli.main import app
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.history import complaint_history
from tests.support.builders import MONDAY_9, envelope_dict
from tests.support.cli import run_cli
from tests.support.waiting import wait_for

PASSWORD = "Pw7-quokka-Secret-81"
TOKEN = "ops-token-never-shown-4411"
DESCRIPTION = "the courier Zebedee threw my parcel over the fence"
CUSTOMER = "CUST-PII-93817"
ORDER = "ORD-PII-55120"
COMMENT = "nobody at the depot answered the phone for days"
PERSONAL = (DESCRIPTION, CUSTOMER, ORDER, COMMENT)
COMPLAINTFLOW = shutil.which("complaintflow") or "complaintflow"
REFUSED = f"postgresql+psycopg://cf:{PASSWORD}@127.0.0.1:1/complaints"
MINUTE = timedelta(minutes=1)


@dataclass
class Outputs:
    """What the commands wrote, by label; `asked` ones may show personal data."""

    written: dict[str, str] = field(default_factory=dict)
    asked: set[str] = field(default_factory=set)

    def add(self, label: str, text: str, *, asked_for_by_id: bool = False) -> None:
        self.written[label] = text
        if asked_for_by_id:
            self.asked.add(label)

    def add_run(self, label: str, done: subprocess.CompletedProcess[str], **kw: bool) -> None:
        self.add(f"{label} stdout", done.stdout, **kw)
        self.add(f"{label} stderr", done.stderr)

    def leaks(self, secrets: tuple[str, ...] = (PASSWORD, TOKEN)) -> list[str]:
        found = []
        for label, text in self.written.items():
            shown = secrets if label in self.asked else secrets + PERSONAL
            found += [f"{label}: {secret!r}" for secret in shown if secret in text]
        return found


@pytest.fixture(scope="module")
def secret_url(postgresql_server: PostgreSQLExecutor) -> Iterator[str]:
    """An empty database owned by a role that logs in with PASSWORD."""
    server = postgresql_server
    admin = open_engine(f"postgresql+psycopg://{server.user}@{server.host}:{server.port}/postgres")
    suffix = uuid.uuid4().hex[:8]
    role, database = f"cf_ops_{suffix}", f"cf_secret_{suffix}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
        c.exec_driver_sql(f"CREATE DATABASE {database} OWNER {role}")
    try:
        yield f"postgresql+psycopg://{role}:{PASSWORD}@{server.host}:{server.port}/{database}"
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            c.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()


def env_with(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTFLOW_")}
    return {**env, "COMPLAINTFLOW_DATABASE_URL": url, "COMPLAINTFLOW_LOG_LEVEL": "INFO", **extra}


def jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "".join(f"{line if isinstance(line, str) else json.dumps(line)}\n" for line in lines)
    )
    return path


def the_day() -> list[dict[str, Any]]:
    """C-PII-1 received with all four, answered, resolved and revisited with a comment; the
    same order again on the phone (the two merge); an answer to a complaint nobody sent."""
    received = {
        "customer_id": CUSTOMER,
        "channel": "app",
        "category": "logistics",
        "description": DESCRIPTION,
        "order_id": ORDER,
    }
    survey = {"reached": True, "satisfied": True, "csat": 4, "nps": 8, "comment": COMMENT}
    return [
        envelope_dict("complaint.received", "C-PII-1", MONDAY_9, received),
        envelope_dict(
            "complaint.received", "C-PII-2", MONDAY_9 + MINUTE, {**received, "channel": "phone"}
        ),
        envelope_dict(
            "agent.responded",
            "C-PII-1",
            MONDAY_9 + 2 * MINUTE,
            {"agent_id": "A7", "message": DESCRIPTION},
        ),
        envelope_dict("complaint.resolved", "C-PII-1", MONDAY_9 + 60 * MINUTE),
        envelope_dict("customer.revisited", "C-PII-1", MONDAY_9 + 120 * MINUTE, survey),
        envelope_dict(
            "agent.responded", "C-NOBODY", MONDAY_9, {"agent_id": "A7", "message": COMMENT}
        ),
    ]


def bad_lines() -> list[Any]:
    """Lines publish refuses, each carrying personal data where a careless reason would echo it."""
    no_channel = {"customer_id": CUSTOMER, "category": "refund", "description": DESCRIPTION}
    long_id = {**no_channel, "channel": "app", "customer_id": CUSTOMER * 20, "order_id": ORDER}
    return [
        envelope_dict("complaint.received", "C-BAD-1", MONDAY_9, no_channel),
        envelope_dict("complaint.received", "C-BAD-2", MONDAY_9, long_id),
        envelope_dict(
            "customer.revisited", "C-BAD-3", MONDAY_9, {"reached": "perhaps", "comment": COMMENT}
        ),
        f'{{"type": "complaint.received", "payload": {{"description": "{DESCRIPTION}", ',
        json.dumps({"description": DESCRIPTION, "customer_id": CUSTOMER}),
    ]


def get(url: str, token: str | None = TOKEN) -> tuple[int, str]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def serve_briefly(url: str, outputs: Outputs, label: str, paths: list[str]) -> dict[str, int]:
    """`complaintflow serve` asked for `paths` (all recorded); its own output recorded too."""
    port = free_port()
    env = env_with(url, COMPLAINTFLOW_SERVE_PORT=str(port), COMPLAINTFLOW_SERVE_TOKEN=TOKEN)
    process = subprocess.Popen(
        [COMPLAINTFLOW, "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    statuses = {}
    try:
        wait_for(lambda: _answers(f"{base}/healthz"), timeout=30, what="serve to answer")
        for path in paths:
            statuses[path], body = get(f"{base}{path}")
            # a complaint's answer is its history; a 404 names the id the caller gave
            asked = path.startswith("/complaints/")
            outputs.add(f"{label} GET {path[:60]}", body, asked_for_by_id=asked)
        statuses["/healthz (no token)"], body = get(f"{base}/healthz", token=None)
        outputs.add(f"{label} GET /healthz without token", body)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        outputs.add(f"{label} stdout", out)
        outputs.add(f"{label} stderr", err)
    return statuses


def _answers(url: str) -> bool:
    try:
        return get(url)[0] in (200, 503)
    except OSError:
        return False


def test_a_day_of_work_shows_no_password_and_no_personal_data(
    secret_url: str, tansu: str, tmp_path: Path
) -> None:
    outputs = Outputs()
    prefix = f"secrets-{uuid.uuid4().hex[:6]}"
    kafka = ["--bootstrap-servers", tansu, "--topic-prefix", prefix]
    env = env_with(secret_url, COMPLAINTFLOW_SERVE_TOKEN=TOKEN)
    # Given a migrated database reached with a password, and a worker logging at INFO
    outputs.add_run("db upgrade", done := run_cli("db", "upgrade", env=env))
    assert done.returncode == 0, done.stderr
    worker_out, worker_err = tmp_path / "worker.out", tmp_path / "worker.err"
    with worker_out.open("w") as out, worker_err.open("w") as err:
        worker = subprocess.Popen(
            [COMPLAINTFLOW, "run", *kafka, "--group-id", f"{prefix}-engine"],
            env={
                **env,
                "COMPLAINTFLOW_CLOCK_START": (MONDAY_9 + 3 * MINUTE).isoformat(),
                "COMPLAINTFLOW_CLOCK_SPEED": "0.000001",
            },
            stdout=out,
            stderr=err,
        )
    try:
        # When a day's events carrying personal data are published, and bad lines too
        done = run_cli("publish", str(jsonl(tmp_path / "day.jsonl", the_day())), *kafka, env=env)
        outputs.add_run("publish", done)
        assert done.returncode == 0, done.stderr
        done = run_cli("publish", str(jsonl(tmp_path / "bad.jsonl", bad_lines())), *kafka, env=env)
        outputs.add_run("publish bad file", done)
        assert done.returncode == 1 and done.stderr.count("skipped") == 5, done.stderr
        engine = open_engine(secret_url)
        try:
            wait_for(
                lambda: (
                    "customer.revisited" in {h.type for h in complaint_history(engine, "C-PII-1")}
                ),
                timeout=90,
                what="the worker to apply the day",
            )
        finally:
            engine.dispose()
        # and an operator looks at it with every command and through the service
        for label, args, asked in [
            ("report", ["report"], False),
            ("report json", ["report", "--format", "json"], False),
            ("timeline C-PII-1", ["timeline", "C-PII-1"], True),
            ("timeline C-PII-2 (merged)", ["timeline", "C-PII-2"], True),
            ("timeline unknown", ["timeline", "C-NOBODY"], False),
        ]:
            outputs.add_run(label, run_cli(*args, env=env), asked_for_by_id=asked)
        statuses = serve_briefly(
            secret_url,
            outputs,
            "serve",
            [
                "/healthz",
                "/report",
                "/report?since=0001-01-01",
                "/report?since=yesterday",
                "/complaints/C-PII-1",
                f"/complaints/{CUSTOMER}",
                f"/complaints/{DESCRIPTION.replace(' ', '%20')}",
                "/metrics",
            ],
        )
        assert statuses["/complaints/C-PII-1"] == statuses["/report"] == 200, statuses
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    outputs.add("worker stdout", worker_out.read_text())
    outputs.add("worker stderr (its log at INFO)", log := worker_err.read_text())
    # Then the worker logged at INFO, and nothing anywhere shows a secret or personal data
    assert "INFO" in log and "partitions assigned" in log, log
    # (the complaint asked for by id does show its payload, so the search would find it)
    assert CUSTOMER in outputs.written["serve GET /complaints/C-PII-1"]
    assert outputs.leaks() == []


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        (REFUSED, [PASSWORD]),
        # a bare @ in the password: SQLAlchemy would take its second half for the host
        (
            "postgresql+psycopg://cf:Half-One-Pw@Half-Two-Pw@127.0.0.1:1/db",
            ["Half-One-Pw", "Half-Two-Pw"],
        ),
        # a URL that does not parse, the password in it
        (f"postgresql+psycopg://cf:{PASSWORD}@[::1/db", [PASSWORD]),
    ],
)
def test_failing_commands_show_no_password(url: str, parts: list[str]) -> None:
    outputs = Outputs()
    env = env_with(url)
    for args in (
        ["report"],
        ["timeline", "C-1"],
        ["db", "upgrade"],
        ["run", "--bootstrap-servers", "127.0.0.1:1"],
    ):
        done = run_cli(*args, env=env, timeout=60)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        outputs.add_run(" ".join(args), done)
    assert outputs.leaks(tuple(parts)) == []


def test_serve_on_an_unreachable_database_shows_no_password() -> None:
    outputs = Outputs()
    statuses = serve_briefly(
        REFUSED, outputs, "serve", ["/healthz", "/report", "/complaints/C-1", "/metrics"]
    )
    assert set(statuses.values()) == {503}
    assert "database unreachable" in outputs.written["serve GET /healthz"]
    assert outputs.leaks() == []


def test_no_help_text_shows_the_password_from_the_environment() -> None:
    runner = CliRunner()
    env = {"COMPLAINTFLOW_DATABASE_URL": REFUSED, "COMPLAINTFLOW_SERVE_TOKEN": TOKEN}
    paths = list(_command_paths(get_command(app), ()))
    assert ("report",) in paths and ("db", "upgrade") in paths and ("serve",) in paths
    for path in paths:
        shown = runner.invoke(app, [*path, "--help"], env=env)
        assert shown.exit_code == 0 and "Usage" in shown.output, (path, shown.output)
        assert PASSWORD not in shown.output and TOKEN not in shown.output, path


def _command_paths(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*path, name))
