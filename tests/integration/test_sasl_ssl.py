"""The commands against an Apache Kafka broker whose only client listener is SASL_SSL
(scripts/apache-kafka --sasl-ssl): a worker, `publish` and `tail` go through it with SCRAM-SHA-512
and with PLAIN; a wrong password, a CA that is not the cluster's and a mechanism the broker does
not offer are each one line on stderr and exit status 2, within seconds, with no secret shown.

Everything is configured as a user does it, by COMPLAINTFLOW_* environment variables (the
launcher's `export` lines), and run as the installed console script."""

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from complaintflow.engine.core.topics import Topics
from tests.support.apache_kafka import ApacheKafka, start_apache_kafka
from tests.support.broker import WorkerProcess, read_topic, watched
from tests.support.builders import MONDAY_9, RECEIVED, envelope_dict

PASSWORD = "COMPLAINTFLOW_KAFKA_SASL_PASSWORD"
CAFILE = "COMPLAINTFLOW_KAFKA_SSL_CAFILE"
BOOTSTRAP_TIMEOUT_S = 30  # kafka-python's: a command that waited for it took longer than this


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    kafka = start_apache_kafka(tmp_path_factory.mktemp("sasl-ssl") / "home", sasl_ssl=True)
    try:
        yield kafka
    finally:
        kafka.stop()


def client_env(cluster: ApacheKafka, prefix: str, **changes: str | None) -> dict[str, str]:
    """This process's environment with the cluster's COMPLAINTFLOW_* exports (and nothing else
    of that prefix), a topic prefix, and `changes` (None removes a variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTFLOW_")}
    env.update({k: v for k, v in cluster.env.items() if k.startswith("COMPLAINTFLOW_")})
    env["COMPLAINTFLOW_TOPIC_PREFIX"] = prefix
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shutil.which("complaintflow") or "complaintflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def envelopes(path: Path, complaint_ids: list[str]) -> Path:
    """complaint.received for each id, each its own customer and order (so none is merged)."""
    lines = [
        envelope_dict(
            "complaint.received",
            complaint_id=cid,
            payload={**RECEIVED, "customer_id": f"U-{cid}", "order_id": f"O-{cid}"},
        )
        for cid in complaint_ids
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def event_log_ids(cluster: ApacheKafka, topic: str, wanted: set[str], timeout: float) -> set[str]:
    """The complaint ids on the event log, read through the SASL_SSL listener by the engine's
    own consumer, once all of `wanted` are there; fails at the deadline."""

    def ids(records: list[Any]) -> set[str]:
        return {json.loads(r.value)["complaint_id"] for r in records}

    records = read_topic(
        cluster.connection(), topic, timeout=timeout, enough=lambda rs: wanted <= ids(rs)
    )
    return ids(records)


def assert_secrets_absent(secrets: list[str], *outputs: str) -> None:
    for secret in secrets:
        for output in outputs:
            assert secret not in output


def test_a_worker_publish_and_tail_go_through_sasl_ssl(
    cluster: ApacheKafka, sqlite_url: str, tmp_path: Path
) -> None:
    # Given a worker configured for the SASL_SSL listener (SCRAM-SHA-512), at INFO
    prefix = f"s{uuid.uuid4().hex[:8]}"
    topics = Topics(prefix)
    env = client_env(cluster, prefix, COMPLAINTFLOW_LOG_LEVEL="INFO")
    password = env[PASSWORD]
    with mock.patch.dict(os.environ, env, clear=True):
        worker = WorkerProcess(cluster.bootstrap, topics, sqlite_url, MONDAY_9.isoformat())
    try:

        def consuming() -> bool:
            assert worker.process.poll() is None, "".join(worker.log)
            return worker.assigned() == set(range(6))

        watched(worker, consuming, 120, "the worker's partitions")

        # When complaints are published with SCRAM-SHA-512 and with PLAIN
        scram_ids = ["S-1", "S-2", "S-3"]
        plain_ids = ["P-1", "P-2"]
        scram = cli("publish", str(envelopes(tmp_path / "scram.jsonl", scram_ids)), env=env)
        plain_env = {**env, "COMPLAINTFLOW_KAFKA_SASL_MECHANISM": "PLAIN"}
        plain = cli("publish", str(envelopes(tmp_path / "plain.jsonl", plain_ids)), env=plain_env)

        # Then the worker applied them all: each is on the event log it writes
        assert scram.returncode == 0, scram.stderr
        assert f"published 3 events to {topics.inbound}" in scram.stdout
        assert plain.returncode == 0, plain.stderr
        assert f"published 2 events to {topics.inbound}" in plain.stdout
        wanted = set(scram_ids + plain_ids)
        assert event_log_ids(cluster, topics.events, wanted, timeout=120) == wanted

        # And tail shows the event log, with either mechanism
        tails = [cli("tail", "--from-beginning", "--limit", "5", env=e) for e in (env, plain_env)]
        for tail in tails:
            assert tail.returncode == 0, tail.stderr
            shown = [line for line in tail.stdout.splitlines() if line.startswith("2025-")]
            assert len(shown) >= 5, tail.stdout
            assert all(line.split()[1] in wanted for line in shown), tail.stdout
            assert "complaint.received" in tail.stdout
        outputs = [r.stdout + r.stderr for r in (scram, plain, *tails)]
        assert_secrets_absent([password], *outputs)
    finally:
        worker.stop()
    # And the worker's own log (INFO) never shows the password
    log = "".join(worker.log)
    assert "partitions assigned" in log
    assert_secrets_absent([password], log)


COMMANDS = ["publish", "tail", "run"]


def command_line(command: str, tmp_path: Path, sqlite_url: str) -> list[str]:
    if command == "publish":
        return ["publish", str(envelopes(tmp_path / "one.jsonl", ["X-1"]))]
    if command == "tail":
        return ["tail", "--from-beginning", "--limit", "1"]
    return ["run", "--database-url", sqlite_url]


def refused(command: list[str], env: dict[str, str]) -> tuple[str, str]:
    """Runs a command that must be refused quickly: its one stderr line, and all it wrote."""
    started = time.monotonic()
    result = cli(*command, env=env, timeout=120)
    took = time.monotonic() - started
    everything = result.stdout + result.stderr
    assert result.returncode == 2, everything
    assert "Traceback" not in everything
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("complaintflow: Kafka at "), lines[0]
    # kafka-python alone would retry for its bootstrap timeout, then say only "Unable to bootstrap"
    assert took < BOOTSTRAP_TIMEOUT_S, f"{took:.1f} s: {lines[0]}"
    assert "Unable to bootstrap" not in lines[0]
    return lines[0], everything


@pytest.mark.parametrize("command", COMMANDS)
def test_a_wrong_password_is_one_line_saying_authentication_failed(
    command: str, cluster: ApacheKafka, sqlite_url: str, tmp_path: Path
) -> None:
    env = client_env(cluster, f"w{uuid.uuid4().hex[:8]}")
    right = env[PASSWORD]
    wrong = f"not-{uuid.uuid4().hex}"
    line, everything = refused(
        command_line(command, tmp_path, sqlite_url), {**env, PASSWORD: wrong}
    )
    assert line == (
        f"complaintflow: Kafka at {cluster.bootstrap}: SASL authentication failed for user "
        "complaintflow (SCRAM-SHA-512): wrong username or password"
    )
    assert_secrets_absent([wrong, right], everything)


def test_a_wrong_password_with_plain_is_refused_the_same_way(
    cluster: ApacheKafka, tmp_path: Path
) -> None:
    env = client_env(cluster, f"w{uuid.uuid4().hex[:8]}")
    wrong = f"not-{uuid.uuid4().hex}"
    env.update({PASSWORD: wrong, "COMPLAINTFLOW_KAFKA_SASL_MECHANISM": "PLAIN"})
    line, everything = refused(command_line("publish", tmp_path, ""), env)
    assert line.endswith(
        "SASL authentication failed for user complaintflow (PLAIN): wrong username or password"
    )
    assert_secrets_absent([wrong, cluster.env[PASSWORD]], everything)


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA of our own making, which signed nothing of the cluster's."""
    folder = tmp_path_factory.mktemp("other-ca")
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed (scripts/apache-kafka --sasl-ssl needs it too)"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=not the cluster's CA"),
            *("-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.pem")),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return folder / "ca.pem"


@pytest.mark.parametrize("command", COMMANDS)
def test_an_untrusted_ca_is_one_line_saying_the_certificate_is_not_trusted(
    command: str, cluster: ApacheKafka, sqlite_url: str, tmp_path: Path, other_ca: Path
) -> None:
    env = client_env(cluster, f"c{uuid.uuid4().hex[:8]}", **{CAFILE: str(other_ca)})
    line, everything = refused(command_line(command, tmp_path, sqlite_url), env)
    assert line.startswith(
        f"complaintflow: Kafka at {cluster.bootstrap}: TLS handshake failed: "
        "certificate verify failed: "
    )
    assert line.endswith(
        "(the broker's certificate is not trusted: is COMPLAINTFLOW_KAFKA_SSL_CAFILE the "
        "cluster's CA?)"
    )
    assert_secrets_absent([cluster.env[PASSWORD]], everything)


def test_without_a_cafile_the_systems_cas_do_not_trust_the_cluster(
    cluster: ApacheKafka, tmp_path: Path
) -> None:
    env = client_env(cluster, f"c{uuid.uuid4().hex[:8]}", **{CAFILE: None})
    line, _ = refused(command_line("publish", tmp_path, ""), env)
    assert "certificate verify failed" in line
    assert line.endswith(
        "(the broker's certificate is not trusted by the system's CAs: "
        "set COMPLAINTFLOW_KAFKA_SSL_CAFILE to the cluster's CA)"
    )


def test_a_mechanism_the_broker_does_not_offer_is_named(
    cluster: ApacheKafka, tmp_path: Path
) -> None:
    env = client_env(
        cluster, f"m{uuid.uuid4().hex[:8]}", COMPLAINTFLOW_KAFKA_SASL_MECHANISM="SCRAM-SHA-256"
    )
    line, _ = refused(command_line("tail", tmp_path, ""), env)
    assert line == (
        f"complaintflow: Kafka at {cluster.bootstrap}: SASL mechanism SCRAM-SHA-256 is not "
        "enabled on the broker (it offers SCRAM-SHA-512, PLAIN): "
        "set COMPLAINTFLOW_KAFKA_SASL_MECHANISM"
    )
