"""Helpers of the failover test: a stream of complaints with SLA timers, the upstream system
that publishes it and retries what the broker did not acknowledge, the cluster's view of who
leads what (asked of live brokers only), and the worker's ride-through after a broker kill."""

import json
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import OffsetSpec
from kafka.errors import KafkaError
from sqlalchemy import Engine, select

from complaintflow.engine.settings import KafkaConnection
from complaintflow.state_store.tables import inbox_t
from tests.support.apache_kafka import ApacheKafka
from tests.support.broker import WorkerProcess
from tests.support.builders import MONDAY_9, envelope_dict
from tests.support.waiting import wait_for

T = TypeVar("T")

# The workers' clock stands (almost) still at 09:09: a P4 complaint received at 09:00 has its
# first-response warning (8 of its 10 minutes) due, so the sweeper fires it as soon as the
# complaint is in; one received at 09:02 or later has nothing due before 09:10.
CLOCK = MONDAY_9 + timedelta(minutes=9)
TIMED_OUT_AT = MONDAY_9
HANDLED_FROM = MONDAY_9 + timedelta(minutes=2)
# a complaint's life, a minute a step; each handled complaint goes 4 or 5 steps of it
LIFE = (
    "complaint.received",
    "agent.responded",
    "complaint.resolved",
    "customer.revisited",
    "complaint.archived",
)
PAYLOADS: dict[str, dict[str, Any]] = {
    "complaint.resolved": {"resolution": "replacement"},
    "customer.revisited": {"reached": True, "satisfied": True, "csat": 5, "nps": 9},
    "complaint.archived": {"reason": "closed"},
}


def received(n: int) -> dict[str, Any]:
    """A P4 complaint (no grading points), its own customer and order: never merged."""
    return {
        "customer_id": f"U{n}",
        "channel": "web",
        "category": "sizing",
        "description": "too small",
        "order_id": f"O{n}",
    }


def complaint_stream(complaints: int, wave: int = 150) -> list[tuple[str, bytes]]:
    """(complaint id, line) in publish order. Every fifth complaint is only received, at 09:00,
    and its warning timer fires mid-stream; the others are received at 09:02 and handled.
    Complaints come in waves, each wave step by step, so a complaint's next event follows
    its previous one by about `wave` events, as events of many complaints interleave."""
    lives: list[list[tuple[str, bytes]]] = []
    for n in range(complaints):
        cid = f"F-{n:05d}"
        if n % 5 == 0:
            steps = [("complaint.received", TIMED_OUT_AT)]
        else:
            length = 4 if n % 5 == 1 else 5
            steps = [(t, HANDLED_FROM + timedelta(minutes=i)) for i, t in enumerate(LIFE[:length])]
        lives.append([(cid, _line(cid, type_, at, n)) for type_, at in steps])
    stream: list[tuple[str, bytes]] = []
    for start in range(0, complaints, wave):
        group = lives[start : start + wave]
        for step in range(max(len(life) for life in group)):
            stream.extend(life[step] for life in group if step < len(life))
    return stream


def _line(cid: str, type_: str, at: datetime, n: int) -> bytes:
    payload = received(n) if type_ == "complaint.received" else PAYLOADS.get(type_)
    return json.dumps(envelope_dict(type_, complaint_id=cid, at=at, payload=payload)).encode()


# kafka-python 3.0.12 sends a metadata request only to a node that is neither paused (a
# connection with max_in_flight_requests_per_connection requests in flight is) nor in
# reconnect backoff. While the dead broker is in backoff and each live one holds an acks=all
# request that waits for the dead one to leave the ISR, there is no such node: the refresh
# then backs off exponentially, up to reconnect_backoff_max_ms (30 s by default), and the
# client learns the new leaders as much later (seen: 12 s after the election). The test's
# own clients cap it at 1 s, so that their figures are the cluster's and the engine's.
PROMPT_METADATA = {"reconnect_backoff_max_ms": 1000}


# --- the upstream system --------------------------------------------------------------------------


@dataclass
class Sending:
    """One event of the stream, until the broker acknowledges it."""

    key: bytes
    value: bytes
    event_id: str
    attempt: int = 0
    settled: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    partition: int = -1
    sent_at: float = 0.0  # time.monotonic() of the latest send
    acked_at: float = 0.0


class Upstream(threading.Thread):
    """The system upstream of the engine, publishing `stream` at a steady pace: acks=all, the
    client's own retries, and an event the broker did not acknowledge sent again (so it may
    land twice: the engine's inbox must absorb that). A complaint's next event waits for the
    acknowledgement of its previous one, as a real upstream's next step does, so a resent
    event never falls behind a later one of its complaint. Accepted: acknowledged."""

    def __init__(
        self,
        connection: KafkaConnection,
        topic: str,
        stream: list[tuple[str, bytes]],
        every_s: float,
        give_up_s: float = 120,
    ) -> None:
        super().__init__(name="upstream", daemon=True)
        self.connection = connection
        self.topic = topic
        self.stream = stream
        self.every_s = every_s
        self.give_up_s = give_up_s
        self.acked: list[Sending] = []  # in acknowledgement order (appended by the sender)
        self.handed = 0  # events of the stream handed to the producer so far
        self.sends = 0
        self.resends: list[str] = []  # why each resend was needed
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            self._publish()
        except BaseException as exc:
            self.failure = exc

    def _publish(self) -> None:
        producer = KafkaProducer(
            **self.connection.client_options(),
            acks="all",
            retries=5,
            max_in_flight_requests_per_connection=1,
            # an upstream that is not idempotent: a retry may write an event twice
            enable_idempotence=False,
            linger_ms=5,
            **PROMPT_METADATA,
        )
        try:
            started = time.monotonic()
            latest: dict[bytes, Sending] = {}
            for position, (cid, line) in enumerate(self.stream):
                time.sleep(max(0.0, started + position * self.every_s - time.monotonic()))
                key = cid.encode()
                previous = latest.get(key)
                if previous is not None:
                    self._until_accepted(producer, previous)
                latest[key] = self._send(producer, Sending(key, line, json.loads(line)["event_id"]))
                self.handed = position + 1
            for last in latest.values():
                self._until_accepted(producer, last)
            producer.flush()
        finally:
            producer.close(timeout=10)

    def _send(self, producer: KafkaProducer, sending: Sending) -> Sending:
        sending.attempt += 1
        sending.settled.clear()
        sending.sent_at = time.monotonic()
        self.sends += 1
        future = producer.send(self.topic, key=sending.key, value=sending.value)
        future.add_callback(self._accepted, sending, sending.attempt)
        future.add_errback(self._refused, sending, sending.attempt)
        return sending

    def _accepted(self, sending: Sending, attempt: int, metadata: Any) -> None:
        if attempt == sending.attempt:
            sending.partition, sending.acked_at = metadata.partition, time.monotonic()
            sending.error = None
            self.acked.append(sending)
            sending.settled.set()

    def _refused(self, sending: Sending, attempt: int, error: BaseException) -> None:
        if attempt == sending.attempt:
            sending.error = error
            sending.settled.set()

    def _until_accepted(self, producer: KafkaProducer, sending: Sending) -> None:
        deadline = time.monotonic() + self.give_up_s
        while True:
            if not sending.settled.wait(timeout=max(0.0, deadline - time.monotonic())):
                raise AssertionError(f"event {sending.event_id}: no answer in {self.give_up_s} s")
            if sending.error is None:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"event {sending.event_id} refused: {sending.error!r}")
            self.resends.append(repr(sending.error))
            time.sleep(0.1)
            self._send(producer, sending)

    def accepted_ids(self) -> set[str]:
        return {s.event_id for s in self.acked}


# --- who leads what, asked of live brokers ----------------------------------------------------


class NotYet(Exception):
    """The cluster's answer is not the awaited one yet."""


def client_addresses(kafka: ApacheKafka) -> dict[int, str]:
    """Each broker's client listener, by node id (from the launcher's cluster.json)."""
    brokers = json.loads((kafka.home / "cluster.json").read_text())["brokers"]
    return {b["node_id"]: f"127.0.0.1:{b['client_port']}" for b in brokers}


def ask_cluster(
    kafka: ApacheKafka,
    question: Callable[[KafkaAdminClient], T],
    what: str,
    down: Collection[int] = (),
    timeout: float = 60,
) -> T:
    """`question` answered by an admin client that knows only live brokers (given a dead one
    to bootstrap from it may keep picking it), a fresh client per try until the deadline:
    during an election a broker may answer with an error or a stale view (NotYet)."""
    live = ",".join(a for node, a in client_addresses(kafka).items() if node not in down)
    options = kafka.connection().model_copy(update={"bootstrap_servers": live}).client_options()
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin = KafkaAdminClient(**options, request_timeout_ms=5000)
            try:
                return question(admin)
            finally:
                admin.close()
        except (KafkaError, OSError, NotYet) as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"no answer in {timeout} s about {what}: {exc!r}") from None
            time.sleep(0.2)


def records_on(admin: KafkaAdminClient, topic: str, partitions: int) -> dict[int, int]:
    """How many records each partition holds (its end offset)."""
    ends = admin.list_partition_offsets(
        {TopicPartition(topic, p): OffsetSpec.LATEST for p in range(partitions)}
    )
    return {tp.partition: end.offset for tp, end in ends.items()}


def busiest_partition(admin: KafkaAdminClient, topic: str, partitions: int) -> tuple[int, int]:
    """(partition, records) of the partition holding the most records."""
    records = records_on(admin, topic, partitions)
    busiest = max(records, key=lambda p: records[p])
    return busiest, records[busiest]


def partition_leader(admin: KafkaAdminClient, topic: str, partition: int) -> int:
    (described,) = admin.describe_topics([topic])
    leader = next(p for p in described["partitions"] if p["partition_index"] == partition)
    if leader["leader_id"] < 0:
        raise NotYet(f"{topic}-{partition} has no leader")
    return int(leader["leader_id"])


def active_controller(admin: KafkaAdminClient) -> int:
    """The KRaft quorum's leader, from DescribeQuorum. (DescribeCluster's controller_id is no
    use here: in KRaft a broker reports a random live broker there.)"""
    quorum = admin.describe_metadata_quorum()
    leader = int(quorum["topics"][0]["partitions"][0]["leader_id"])
    if leader < 0:
        raise NotYet("the quorum has no leader")
    return leader


def in_sync(admin: KafkaAdminClient, topics: list[str], brokers: int) -> bool:
    """Raises NotYet until every partition of `topics` has a leader and all `brokers` in its ISR."""
    for topic in admin.describe_topics(topics):
        for p in topic["partitions"]:
            if p["leader_id"] < 0 or len(p["isr_nodes"]) < brokers:
                raise NotYet(f"{topic['name']}-{p['partition_index']}: ISR {p['isr_nodes']}")
    return True


def broker_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def settled_assignment(worker: WorkerProcess) -> set[int]:
    """The worker's inbound partitions if its latest rebalance step was an assignment; none
    while a revocation is the latest (a rebalance under way), which `assigned()` overlooks."""
    steps = [line for line in worker.log if "partitions assigned: " in line or "revoked: " in line]
    return worker.assigned() if steps and "partitions assigned: " in steps[-1] else set()


# --- the event log, tailed --------------------------------------------------------------------


class LogTail(threading.Thread):
    """Reads a topic from its start as it grows, noting when each event_id first showed."""

    def __init__(self, connection: KafkaConnection, topic: str) -> None:
        super().__init__(name="log-tail", daemon=True)
        self.connection = connection
        self.topic = topic
        self.first_seen: dict[str, float] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        consumer = KafkaConsumer(
            **self.connection.client_options(), enable_auto_commit=False, **PROMPT_METADATA
        )
        try:
            consumer.assign([TopicPartition(self.topic, 0)])
            consumer.seek_to_beginning()
            while not self.stopping.is_set():
                try:
                    polled = consumer.poll(timeout_ms=100)
                except KafkaError:
                    continue
                now = time.monotonic()
                for records in polled.values():
                    for record in records:
                        self.first_seen.setdefault(json.loads(record.value)["event_id"], now)
        finally:
            consumer.close(autocommit=False)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


# --- a kill and the worker's ride-through -----------------------------------------------------


@dataclass
class Kill:
    """A broker killed with SIGKILL, and what followed, in seconds from the kill.

    The probe of an inbound partition is the first event of the stream sent to it after the
    kill (events sent before may have been written before it). `upstream_s`: until the last
    probe was acknowledged, the cluster's blackout as the upstream saw it; `ride_through_s`:
    until the worker had applied every probe (its inbox row committed), that is until events
    sent after the kill flowed through the worker on every partition; `logged_s`: until every
    probe's entry was on complaints.events (the relay publishing again)."""

    what: str
    node: int
    handed: int  # events of the stream handed to the upstream's producer by the kill
    at: float = field(default_factory=time.monotonic)
    probes: dict[int, Sending] = field(default_factory=dict)
    applied: dict[int, float] = field(default_factory=dict)
    logged: dict[int, float] = field(default_factory=dict)
    _scanned: int = 0

    def seconds(self, times: Collection[float]) -> float:
        return round(max(times) - self.at, 2)

    def figures(self) -> dict[str, Any]:
        return {
            "killed": self.what,
            "node": self.node,
            "events_handed_by_then": self.handed,
            "upstream_s": self.seconds([s.acked_at for s in self.probes.values()]),
            "ride_through_s": self.seconds(self.applied.values()),
            "logged_s": self.seconds(self.logged.values()),
            "by_partition_s": {
                p: [
                    self.seconds([s.acked_at]),
                    self.seconds([self.applied[p]]),
                    self.seconds([self.logged[p]]),
                ]
                for p, s in sorted(self.probes.items())
            },
        }

    def ridden_through(
        self, upstream: Upstream, engine: Engine, tail: LogTail, partitions: int
    ) -> bool:
        """One look: probes found, applied, on the log; True once all are."""
        acked = upstream.acked
        scanned, self._scanned = self._scanned, len(acked)
        for sending in acked[scanned : self._scanned]:
            if sending.sent_at > self.at:
                self.probes.setdefault(sending.partition, sending)
        waiting = {s.event_id: p for p, s in self.probes.items() if p not in self.applied}
        if waiting:
            inbox = select(inbox_t.c.message_key).where(inbox_t.c.message_key.in_(waiting))
            with engine.connect() as c:
                found = list(c.scalars(inbox))
            now = time.monotonic()
            for key in found:
                self.applied[waiting[key]] = now
        for p, s in self.probes.items():
            if p not in self.logged and s.event_id in tail.first_seen:
                self.logged[p] = tail.first_seen[s.event_id]
        return len(self.applied) == len(self.logged) == partitions

    def ride_through(
        self,
        upstream: Upstream,
        engine: Engine,
        tail: LogTail,
        partitions: int,
        timeout: float = 90,
    ) -> None:
        try:
            wait_for(
                lambda: self.ridden_through(upstream, engine, tail, partitions),
                timeout,
                f"events accepted after the kill of broker {self.node} ({self.what}) to be "
                "applied and published from every inbound partition",
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}; {self.progress(upstream)}") from None

    def progress(self, upstream: Upstream) -> str:
        since = [round(s.acked_at - self.at, 1) for s in upstream.acked[-1:]]
        return (
            f"probes (partition: event id) { ({p: s.event_id for p, s in self.probes.items()}) }, "
            f"applied on {sorted(self.applied)}, logged on {sorted(self.logged)}; upstream: "
            f"{upstream.handed} of {len(upstream.stream)} handed over, {len(upstream.acked)} "
            f"acknowledged (the last {since} s after the kill), failure {upstream.failure!r}"
        )
