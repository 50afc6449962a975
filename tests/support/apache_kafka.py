"""Apache Kafka clusters for tests, started by the project's own `scripts/apache-kafka` (the
same launcher a person uses for a drill), on free loopback ports, in a home of the test's."""

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from complaintflow.engine.settings import KafkaConnection

LAUNCHER = Path(__file__).resolve().parents[2] / "scripts" / "apache-kafka"
_EXPORT = re.compile(r"^export ([A-Z_]+)=(.*)$")


class LaunchFailed(AssertionError):
    """The launcher said no; its one line says why."""


def _exports(stdout: str) -> dict[str, str]:
    found = {}
    for line in stdout.splitlines():
        match = _EXPORT.match(line)
        if match is None:
            raise LaunchFailed(f"scripts/apache-kafka printed a non-export line: {line!r}")
        found[match.group(1)] = match.group(2).strip("'\"")
    return found


def _launch(*args: str, timeout: float = 600) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, str(LAUNCHER), *args], capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise LaunchFailed(f"scripts/apache-kafka {' '.join(args)}: {done.stderr.strip()}")
    return _exports(done.stdout)


@dataclass
class ApacheKafka:
    """A running cluster: its client environment (the `export` lines), and the means to kill
    and restart one of its brokers."""

    home: Path
    env: dict[str, str]
    pids: dict[int, int] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return self.env["COMPLAINTFLOW_BOOTSTRAP_SERVERS"]

    def connection(self) -> KafkaConnection:
        """How a client of the project connects, security included (from the exports)."""
        env = self.env
        return KafkaConnection(
            bootstrap_servers=self.bootstrap,
            security_protocol=env.get("COMPLAINTFLOW_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
            sasl_mechanism=env.get("COMPLAINTFLOW_KAFKA_SASL_MECHANISM"),
            sasl_username=env.get("COMPLAINTFLOW_KAFKA_SASL_USERNAME"),
            sasl_password=env.get("COMPLAINTFLOW_KAFKA_SASL_PASSWORD"),
            ssl_cafile=env.get("COMPLAINTFLOW_KAFKA_SSL_CAFILE"),
        )

    def kill(self, node: int) -> None:
        """SIGKILL one broker (node ids start at 1)."""
        os.kill(self.pids[node], signal.SIGKILL)

    def restart(self, node: int) -> None:
        """Start a killed broker again with its config and data; returns once it answers."""
        exports = _launch("restart-broker", str(node), "--home", str(self.home))
        self.env.update(exports)
        self.pids = _pids(exports)

    def stop(self) -> None:
        _launch("stop", "--home", str(self.home), timeout=120)


def _pids(exports: dict[str, str]) -> dict[int, int]:
    return {
        node: int(pid)
        for node, pid in enumerate(exports.get("APACHE_KAFKA_BROKER_PIDS", "").split(), start=1)
    }


def start_apache_kafka(home: Path, brokers: int = 1, sasl_ssl: bool = False) -> ApacheKafka:
    """A fresh cluster (the broker's jars fetched with Maven on first use, then cached)."""
    args = ["start", "--home", str(home), "--brokers", str(brokers)]
    if sasl_ssl:
        args.append("--sasl-ssl")
    exports = _launch(*args)
    return ApacheKafka(home=home, env=exports, pids=_pids(exports))
