"""Several worker processes in one consumer group on a real broker and a real PostgreSQL:
a burst of due timers fires each timer once although a worker is killed mid-burst, and a
cross-channel merge raced by two workers never makes two complaints."""

import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, Select, func, select

from complaintflow.consumers.kafka_consumer import partitioner
from complaintflow.engine.core.replay import replay
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.settings import Settings
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.summary import summarize
from complaintflow.state_store.tables import aliases_t, complaints_t, history_t, timers_t
from tests.support.broker import WorkerProcess, publish, read_topic, running_worker, values
from tests.support.builders import MONDAY_9, raw
from tests.support.waiting import wait_for

BURST = 10_000
# A P4 complaint's first response is due 10 min after receipt, warned at 8 min: a clock
# standing at 09:09 finds exactly one timer due per complaint received at 09:00, all at once.
AFTER_THE_WARNINGS = MONDAY_9 + timedelta(minutes=9)


def quiet_complaint(n: int) -> bytes:
    payload = {
        "customer_id": f"U{n}",
        "channel": "web",
        "category": "sizing",
        "description": "too small",
        "order_id": f"O{n}",
    }
    return raw("complaint.received", complaint_id=f"C-{n:05d}", payload=payload)


def count(engine: Engine, query: Select[tuple[int]]) -> int:
    with engine.connect() as c:
        return c.scalar(query) or 0


def warnings_applied(engine: Engine) -> int:
    return count(
        engine,
        select(func.count()).select_from(history_t).where(history_t.c.type == "sla.warning"),
    )


@pytest.mark.slow  # 30-40 s: 10,000 timers through three worker processes, one killed
def test_three_workers_one_killed_fire_a_burst_of_10000_timers_exactly_once(
    broker: str, topics: Topics, postgresql_url: str, workflow: Workflow
) -> None:
    lines = [quiet_complaint(n) for n in range(BURST)]
    publish(broker, topics.inbound, [(json.loads(x)["complaint_id"].encode(), x) for x in lines])
    engine = open_engine(postgresql_url)

    # Given 10,000 complaints taken in by a worker whose clock stands before any deadline
    seed = Settings(
        database_url=postgresql_url,
        topic_prefix=topics.prefix,
        group_id=f"{topics.prefix}-seed",
        batch_size=1000,
    )
    with running_worker(seed, broker, FixedClock(MONDAY_9)):
        wait_for(lambda: summarize(engine).processed == BURST, 240, "the complaints to be taken in")
    pending = count(engine, select(func.count()).select_from(timers_t))
    assert pending == 4 * BURST  # first response and handling, each a warning and a breach

    # When three worker processes of another group (which sees the complaints again, as
    # duplicates) start with their clocks past every warning, and one is killed with SIGKILL
    # in the middle of the burst
    later = AFTER_THE_WARNINGS.isoformat()
    workers = [
        WorkerProcess(broker, topics, postgresql_url, later, batch_size=500) for _ in range(3)
    ]
    try:
        wait_for(lambda: warnings_applied(engine) >= 1000, 120, "the burst to begin")
        victim = max(workers, key=lambda w: len(w.assigned()))
        assert victim.assigned(), "no worker owns a partition"
        victim.kill()
        at_kill = warnings_applied(engine)
        wait_for(
            lambda: warnings_applied(engine) == BURST and summarize(engine).outbox_backlog == 0,
            240,
            "every warning applied and published",
        )
    finally:
        for worker in workers:
            worker.stop()  # (the killed one has nothing left to stop)
    assert at_kill < BURST, "the kill came after the burst; nothing was tested"

    # Then each timer fired once: one sla.warning per complaint on the event log, which
    # consumers read deduplicated by event_id (a killed relay may publish a row twice)
    def every_warning(records: list[Any]) -> bool:
        warnings = {r.value for r in records if b'"sla.warning"' in r.value}
        return len({json.loads(w)["event_id"] for w in warnings}) >= BURST

    log = values(read_topic(broker, topics.events, enough=every_warning, timeout=120))
    distinct = {e["event_id"]: e for e in log}.values()
    warned = Counter(e["complaint_id"] for e in distinct if e["type"] == "sla.warning")
    assert len(warned) == BURST and set(warned.values()) == {1}
    assert {e["version"] for e in distinct if e["type"] == "sla.warning"} == {3}
    # the fired warnings' rows are gone; the other three timers per complaint still wait
    assert count(engine, select(func.count()).select_from(timers_t)) == 3 * BURST
    # and every complaint ends where a clean replay up to the same instant ends
    expected = replay(lines, workflow, until=AFTER_THE_WARNINGS)
    with engine.connect() as c:
        stored = {
            cid: (state, version)
            for cid, state, version in c.execute(
                select(complaints_t.c.complaint_id, complaints_t.c.state, complaints_t.c.version)
            )
        }
    assert stored == {cid: (c.state, c.version) for cid, c in expected.complaints.items()}
    engine.dispose()


PAIRS = 300


def id_on_partition(partition: int, stem: str, partition_of: Callable[[str], int]) -> str:
    """A complaint id that Kafka's key partitioner puts on `partition`."""
    n = 0
    while partition_of(f"{stem}-{n}") != partition:
        n += 1
    return f"{stem}-{n}"


def test_a_merge_raced_by_two_workers_never_makes_two_complaints(
    broker: str, topics: Topics, postgresql_url: str
) -> None:
    # Given 300 customers who each complain about one order by phone and on the web at the
    # same instant, the two complaints on partitions 0 and 3, which two workers of one group
    # always own apart (range and round-robin assignment alike)
    partition_of = partitioner(4)
    phone, web = [], []
    for n in range(PAIRS):
        payload = {
            "customer_id": f"U{n}",
            "category": "logistics",
            "description": "parcel lost",
            "order_id": f"O{n}",
        }
        for channel, partition, into in (("phone", 0, phone), ("web", 3, web)):
            cid = id_on_partition(partition, f"{channel}{n}", partition_of)
            line = raw(
                "complaint.received",
                complaint_id=cid,
                payload={**payload, "channel": channel},
            )
            into.append((cid.encode(), line))
    engine = open_engine(postgresql_url)
    workers = [
        WorkerProcess(broker, topics, postgresql_url, MONDAY_9.isoformat(), batch_size=5)
        for _ in range(2)
    ]
    try:
        wait_for(
            lambda: (
                workers[0].assigned() | workers[1].assigned() == {0, 1, 2, 3}
                and all(w.assigned() for w in workers)
            ),
            60,
            "both workers to share the partitions",
        )
        assert not workers[0].assigned() & workers[1].assigned()
        # When both streams are published interleaved, pair by pair
        publish(broker, topics.inbound, [m for pair in zip(phone, web, strict=True) for m in pair])
        wait_for(
            lambda: summarize(engine).processed == 2 * PAIRS, 180, "both streams to be taken in"
        )
    finally:
        for worker in workers:
            worker.stop()

    # Then each customer's order is one complaint with both channels, the other id its alias
    with engine.connect() as c:
        complaints = c.execute(select(complaints_t.c.customer_id, complaints_t.c.channels)).all()
        aliases = c.scalar(select(func.count()).select_from(aliases_t))
    assert Counter(customer for customer, _ in complaints) == {f"U{n}": 1 for n in range(PAIRS)}
    assert {frozenset(channels.split(",")) for _, channels in complaints} == {
        frozenset({"phone", "web"})
    }
    assert aliases == PAIRS
    engine.dispose()
