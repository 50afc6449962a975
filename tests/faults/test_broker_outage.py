"""The outbox relay on a broker's bad days, on real brokers (issue "Bad days without loss"):

- a row too large for the broker goes to the DLQ as unpublishable, and the rows after it go out;
- a broker that goes away and comes back (Apache Kafka killed and restarted) or is replaced by a
  new one on the same address (Tansu, memory-only: it knows nothing of the old one, not even
  the producer's id) is ridden out without a restart, with each complaint's versions in order
  on the event log. The incident's idempotent producer is replaced by a new one on the way.
"""

import base64
import json
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from subprocess import Popen
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from sqlalchemy import Engine

from complaintflow.engine.core.batch import BatchChanges
from complaintflow.engine.core.messages import MAX_DEAD_LETTER_ORIGINAL, OutboundMessage
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.embedded_broker import (
    create_topics,
    free_port,
    start_tansu,
    wait_until_ready,
)
from complaintflow.engine.ports import SendFailure
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.settings import KafkaConnection
from complaintflow.producers.kafka_publisher import (
    DELIVERY_TIMEOUT_S,
    MAX_BLOCK_S,
    KafkaPublisher,
    ordered_producer,
    producer_for,
)
from complaintflow.producers.outbox_relay import OutboxRelay
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.outbox_store import SqlAlchemyOutbox
from complaintflow.state_store.unit_of_work import SqlAlchemyStore
from tests.support.apache_kafka import ApacheKafka, start_apache_kafka
from tests.support.broker import read_topic, values
from tests.support.builders import MONDAY_9
from tests.support.waiting import wait_for

PARTITIONS = 4
CLOCK = FixedClock(MONDAY_9)
Message = tuple[str, bytes | None, bytes]


def write_outbox(engine: Engine, rows: Sequence[tuple[str, str, bytes]]) -> None:
    """(topic, complaint, value) as one batch's outbox rows, keyed by complaint."""
    with SqlAlchemyStore(engine, CLOCK).unit_of_work() as uow:
        uow.write(
            BatchChanges(
                outbox=[
                    OutboundMessage(
                        partition=zlib.crc32(cid.encode()) % PARTITIONS,
                        topic=topic,
                        key=cid.encode(),
                        value=value,
                    )
                    for topic, cid, value in rows
                ]
            )
        )
        uow.commit()


def unsent(engine: Engine) -> int:
    return len(SqlAlchemyOutbox(engine).unsent(range(PARTITIONS), 100_000))


def relay_of(engine: Engine, publisher: KafkaPublisher, topics: Topics) -> OutboxRelay:
    return OutboxRelay(SqlAlchemyOutbox(engine), publisher, CLOCK, dead_letter_topic=topics.dlq)


def on_log(records: list[Any], key: bytes) -> list[bytes]:
    return [r.value for r in records if r.key == key]


def test_a_message_too_large_for_the_broker_goes_to_the_dlq_and_the_next_rows_go_out(
    broker: str, topics: Topics, sqlite_url: str
) -> None:
    # Given a complaint's second outbox row is a 2 MB message, over the broker's 1 MB
    engine = open_engine(sqlite_url)
    huge = b'{"padding": "' + b"x" * 2_000_000 + b'"}'
    write_outbox(
        engine,
        [
            (topics.events, "C-1", b"v1"),
            (topics.events, "C-1", huge),
            (topics.events, "C-1", b"v3"),
            (topics.events, "C-2", b"w1"),
        ],
    )
    publisher = KafkaPublisher(KafkaConnection.of(broker))
    relay = relay_of(engine, publisher, topics)
    try:
        # When the relay drains
        assert relay.drain(range(PARTITIONS), budget_s=60) == 3
    finally:
        publisher.close()
    # Then the rows before and after it are on the log, in order, and nothing is left unsent
    events = read_topic(broker, topics.events, 3)
    assert (on_log(events, b"C-1"), on_log(events, b"C-2")) == ([b"v1", b"v3"], [b"w1"])
    assert unsent(engine) == 0
    # and the row is on the DLQ as unpublishable, its value cut to 512 KiB
    [letter] = values(read_topic(broker, topics.dlq, 1))
    assert letter["reason"].startswith("unpublishable: MessageSizeTooLargeError: The message is")
    assert (letter["topic"], letter["key"]) == (topics.events, base64.b64encode(b"C-1").decode())
    assert base64.b64decode(letter["original"]) == huge[:MAX_DEAD_LETTER_ORIGINAL]
    assert (letter["truncated"], letter["size"]) == (True, len(huge))
    assert (relay.unpublishable, publisher.recreated) == (1, 0)


def test_a_message_over_a_topics_limit_goes_to_the_dlq_and_the_producer_stays_usable(
    apache_kafka: str, sqlite_url: str
) -> None:
    """Apache Kafka only: Tansu 0.6 does not enforce max.message.bytes, so only Apache Kafka
    refuses a record the client let through (the case that made kafka-python's idempotent
    producer fatal for every later send)."""
    # Given an event log topic that takes at most 64 KiB, and a 100 KB row among others
    topics = Topics(f"t{uuid.uuid4().hex[:10]}")
    admin = KafkaAdminClient(bootstrap_servers=apache_kafka)
    try:
        small = NewTopic(topics.events, 1, 1, topic_configs={"max.message.bytes": "65536"})
        admin.create_topics([small])
    finally:
        admin.close()
    create_topics(apache_kafka, topics)
    engine = open_engine(sqlite_url)
    write_outbox(
        engine,
        [
            (topics.events, "C-1", b"v1"),
            (topics.events, "C-1", b"x" * 100_000),
            (topics.events, "C-1", b"v3"),
            (topics.events, "C-2", b"w1"),
        ],
    )
    publisher = KafkaPublisher(KafkaConnection.of(apache_kafka))
    relay = relay_of(engine, publisher, topics)
    try:
        # When the relay drains, Then the broker's refusal moves that row aside alone
        assert relay.drain(range(PARTITIONS), budget_s=60) == 3
        [letter] = values(read_topic(apache_kafka, topics.dlq, 1))
        assert letter["reason"] == "unpublishable: MessageSizeTooLargeError"
        events = read_topic(apache_kafka, topics.events, 3)
        assert (on_log(events, b"C-1"), on_log(events, b"C-2")) == ([b"v1", b"v3"], [b"w1"])
        # and the producer goes on sending, not replaced
        write_outbox(engine, [(topics.events, "C-1", b"v4")])
        assert relay.drain(range(PARTITIONS), budget_s=60) == 1
        assert (unsent(engine), relay.unpublishable, publisher.recreated) == (0, 1, 0)
    finally:
        publisher.close()


class NewTansu:
    """Tansu on a port of its own; after `stop` and `start`, a new broker on the same address
    that knows nothing of the old one (memory-only), its topics created again."""

    def __init__(self, topics: Topics) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.topics = topics
        self.process: Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = start_tansu(self.port)
        wait_until_ready(self.bootstrap, self.process)
        create_topics(self.bootstrap, self.topics, inbound_partitions=PARTITIONS)

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        if self.process is not None:
            self.stop()


class RestartedApacheKafka:
    """An Apache Kafka broker of its own, killed and started again on the same ports with its
    data: the broker goes away and comes back."""

    def __init__(self, home: Path, topics: Topics) -> None:
        self.cluster: ApacheKafka = start_apache_kafka(home)
        self.bootstrap = self.cluster.bootstrap
        create_topics(self.bootstrap, topics, inbound_partitions=PARTITIONS)

    def start(self) -> None:
        self.cluster.restart(1)

    def stop(self) -> None:
        self.cluster.kill(1)

    def close(self) -> None:
        self.cluster.stop()


def idempotent_producer(connection: KafkaConnection) -> KafkaProducer:
    """The producer of the incident: kafka-python 3's idempotent default."""
    return producer_for(
        connection,
        enable_idempotence=True,
        delivery_timeout_ms=int(DELIVERY_TIMEOUT_S * 1000),
        max_block_ms=int(MAX_BLOCK_S * 1000),
    )


class CountedPublisher:
    """The publisher, counting the relay's calls (to know it tried while the broker was away)."""

    def __init__(self, publisher: KafkaPublisher) -> None:
        self.publisher = publisher
        self.calls = 0

    def publish(self, messages: Sequence[Message]) -> None:
        self.publisher.publish(messages)

    def deliver(self, messages: Sequence[Message]) -> dict[int, SendFailure]:
        self.calls += 1
        return self.publisher.deliver(messages)


@contextmanager
def relaying(relay: OutboxRelay) -> Iterator[None]:
    """The relay driven as the worker's loop drives it, on a thread of its own."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop() -> None:
        try:
            while not stop.is_set():
                relay.drain(range(PARTITIONS))
                stop.wait(0.02)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2 * DELIVERY_TIMEOUT_S)
    assert not errors, errors


def versions(cid: str, first: int, last: int, topics: Topics) -> list[tuple[str, str, bytes]]:
    return [
        (topics.events, cid, json.dumps({"event_id": f"{cid}-{v}", "version": v}).encode())
        for v in range(first, last + 1)
    ]


def complaints_versions(records: list[Any]) -> dict[str, list[int]]:
    """Each complaint's versions on the log as a consumer sees them: duplicates dropped by
    event_id, first seen first."""
    seen: dict[str, list[int]] = {}
    ids: set[str] = set()
    for entry in values(records):
        if entry["event_id"] not in ids:
            ids.add(entry["event_id"])
            cid = entry["event_id"].rsplit("-", 1)[0]
            seen.setdefault(cid, []).append(entry["version"])
    return seen


COMPLAINTS = [f"C-{n:03}" for n in range(40)]


@pytest.mark.parametrize(
    ("broker_kind", "factory"),
    [
        pytest.param("tansu", ordered_producer, id="tansu-new-broker"),
        pytest.param("tansu", idempotent_producer, id="tansu-new-broker-idempotent-producer"),
        # 16 to 29 s, most of it the broker restarting (Tansu: about 6 s)
        pytest.param("apache", ordered_producer, id="apache-restarted", marks=pytest.mark.slow),
    ],
)
def test_the_relay_rides_out_a_broker_outage_with_each_complaints_order_kept(
    broker_kind: str,
    factory: Callable[[KafkaConnection], KafkaProducer],
    tmp_path: Path,
    sqlite_url: str,
) -> None:
    topics = Topics(f"t{uuid.uuid4().hex[:10]}")
    broker = (
        NewTansu(topics)
        if broker_kind == "tansu"
        else RestartedApacheKafka(tmp_path / "apache-kafka", topics)
    )
    engine = open_engine(sqlite_url)
    publisher = KafkaPublisher(KafkaConnection.of(broker.bootstrap), factory=factory)
    counted = CountedPublisher(publisher)
    relay = OutboxRelay(SqlAlchemyOutbox(engine), counted, CLOCK, dead_letter_topic=topics.dlq)
    try:
        with relaying(relay):
            # Given complaints whose first versions are on the log
            write_outbox(engine, [row for c in COMPLAINTS for row in versions(c, 1, 2, topics)])
            wait_for(lambda: unsent(engine) == 0, 60, "the first versions published")
            # When the broker goes away while more versions are written and relayed
            broker.stop()
            calls = counted.calls
            write_outbox(engine, [row for c in COMPLAINTS for row in versions(c, 3, 4, topics)])
            wait_for(lambda: counted.calls > calls, 30, "the relay to try the away broker")
            # and comes back (a new one on the same address), and more versions come
            broker.start()
            write_outbox(engine, [row for c in COMPLAINTS for row in versions(c, 5, 6, topics)])
            # Then the relay publishes them all without a restart
            wait_for(lambda: unsent(engine) == 0, 120, "the outbox drained after the outage")
        # and each complaint's versions are on the log in order, none missing: all of them on
        # the restarted broker, those written since the outage on the new one
        first = 3 if broker_kind == "tansu" else 1
        records = read_topic(
            broker.bootstrap,
            topics.events,
            enough=lambda r: (
                sum(len(v) for v in complaints_versions(r).values())
                >= len(COMPLAINTS) * (7 - first)
            ),
        )
        expected = list(range(first, 7))
        assert complaints_versions(records) == {c: expected for c in COMPLAINTS}
        # and the incident's idempotent producer was replaced on the way, the relay's was not
        assert (publisher.recreated > 0) == (factory is idempotent_producer)
    finally:
        publisher.close()
        broker.close()
