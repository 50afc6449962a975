"""Broker failover on a real three-broker Apache Kafka cluster (RF 3, min.insync.replicas 2):
while a stream of complaints, some with SLA timers coming due, flows through the engine, the
leader of the inbound topic's busiest partition is killed with SIGKILL and restarted, then
the active KRaft controller. Every accepted event is applied exactly once, every complaint
ends as a clean replay ends it, each timer fires once, the outbox drains, and the event log
carries each complaint's versions in order (duplicates allowed: consumers dedupe).

Each case prints its figures (pytest -s) and writes them to failover.json in its tmp_path:
events, resends, duplicates on the inbound topic and on the log, lost and doubled (0), and per
kill the ride-through as `Kill` (tests/support/failover.py) defines it. About 40-50 s a case."""

import json
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from complaintflow.engine.core.replay import replay
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.embedded_broker import create_topics
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.summary import summarize
from complaintflow.state_store.tables import history_t, inbox_t, timers_t
from tests.support.apache_kafka import ApacheKafka, start_apache_kafka
from tests.support.broker import WorkerProcess, read_topic, values
from tests.support.failover import (
    CLOCK,
    Kill,
    LogTail,
    Upstream,
    active_controller,
    ask_cluster,
    broker_alive,
    busiest_partition,
    complaint_stream,
    in_sync,
    partition_leader,
    records_on,
    settled_assignment,
)
from tests.support.invariants import (
    event_log_of,
    history_counts,
    stored_states,
    versions_on_log,
)
from tests.support.waiting import wait_for

BROKERS = 3
PARTITIONS = 6
COMPLAINTS = 600  # 2,400 events; every fifth complaint's warning fires (120 firings)
EVERY_S = 0.015  # the upstream's pace: about 65 events a second


def since(start: float) -> float:
    return round(time.monotonic() - start, 1)


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> ApacheKafka:
    """Three brokers, shared by both cases: each leaves them all running and in sync."""
    kafka = start_apache_kafka(tmp_path_factory.mktemp("failover") / "home", brokers=BROKERS)
    request.addfinalizer(kafka.stop)
    return kafka


def healthy(kafka: ApacheKafka, topics: list[str]) -> None:
    """Every broker running (a failed case may have left one dead) and every partition of
    `topics` fully in sync: a second broker down before then would leave partitions below
    min.insync.replicas."""
    for node, pid in kafka.pids.items():
        if not broker_alive(pid):
            kafka.restart(node)
    ask_cluster(kafka, lambda a: in_sync(a, topics, BROKERS), "every replica in sync", timeout=90)


@pytest.mark.parametrize(("backend", "workers"), [("sqlite", 1), ("postgresql", 3)])
def test_worker_rides_through_a_leader_kill_and_a_controller_kill(
    backend: str,
    workers: int,
    cluster: ApacheKafka,
    workflow: Workflow,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    began = time.monotonic()
    kafka = cluster
    connection = kafka.connection()
    topics = Topics(f"f{uuid.uuid4().hex[:10]}")
    create_topics(connection, topics, inbound_partitions=PARTITIONS)
    watched = [*topics.all(), "__consumer_offsets"]
    healthy(kafka, topics.all())
    stream = complaint_stream(COMPLAINTS)
    expected = replay([line for _, line in stream], workflow, until=CLOCK)
    assert not expected.refusals and expected.timers_fired == COMPLAINTS // 5
    url = str(request.getfixturevalue(f"{backend}_url"))
    engine = open_engine(url)

    # Given workers of one group on the cluster, the connection in their environment
    for name, value in kafka.env.items():
        if name.startswith("COMPLAINTFLOW_"):
            monkeypatch.setenv(name, value)
    processes = [
        WorkerProcess(kafka.bootstrap, topics, url, CLOCK.isoformat(), batch_size=200)
        for _ in range(workers)
    ]
    tail = LogTail(connection, topics.events)
    upstream = Upstream(connection, topics.inbound, stream, EVERY_S)
    background = ThreadPoolExecutor(max_workers=1)
    kills: list[Kill] = []
    marks: dict[str, float] = {"set up": since(began)}
    try:
        wait_for(
            lambda: (
                all(owned := [settled_assignment(w) for w in processes])
                and set().union(*owned) == set(range(PARTITIONS))
            ),
            60,
            "the workers to share the inbound partitions",
        )
        tail.start()
        marks["workers consuming"] = since(began)
        # When the stream flows
        upstream.start()
        wait_for(lambda: len(upstream.acked) >= 200, 60, "the stream to get going")

        # and the leader of the busiest inbound partition is killed, then restarted
        partition, records = ask_cluster(
            kafka, lambda a: busiest_partition(a, topics.inbound, PARTITIONS), "offsets"
        )
        leader = ask_cluster(
            kafka, lambda a: partition_leader(a, topics.inbound, partition), "the leader"
        )
        what = f"leader of {topics.inbound}-{partition} ({records} records)"
        kafka.kill(leader)
        kills.append(Kill(what, leader, upstream.handed))
        marks["leader killed"] = since(began)
        kills[-1].ride_through(upstream, engine, tail, PARTITIONS)
        marks["leader's kill ridden through"] = since(began)
        kafka.restart(leader)
        ask_cluster(kafka, lambda a: in_sync(a, watched, BROKERS), "ISR", timeout=90)
        marks["leader back in sync"] = since(began)

        # and then the active controller
        controller = ask_cluster(kafka, active_controller, "the active controller")
        kafka.kill(controller)
        kills.append(Kill("active controller (KRaft quorum leader)", controller, upstream.handed))
        marks["controller killed"] = since(began)
        kills[-1].ride_through(upstream, engine, tail, PARTITIONS)
        marks["controller's kill ridden through"] = since(began)
        successor = ask_cluster(
            kafka, active_controller, "the new controller", down=[controller], timeout=60
        )
        assert successor != controller
        restarted = background.submit(kafka.restart, controller)  # while the stream ends
        for kill in kills:
            assert kill.handed < len(stream), f"the stream was over when {kill.what} was killed"

        upstream.join(timeout=180)
        assert not upstream.is_alive(), "the upstream never finished"
        assert upstream.failure is None, upstream.failure
        accepted = upstream.accepted_ids()
        assert len(accepted) == len(stream)
        wanted_inbox = len(accepted) + expected.timers_fired
        marks["stream acknowledged"] = since(began)
        wait_for(
            lambda: (s := summarize(engine)).processed >= wanted_inbox and s.outbox_backlog == 0,
            120,
            "every accepted event and fired timer applied and the outbox drained",
        )
        marks["all applied, outbox drained"] = since(began)
    finally:
        for number, worker in enumerate(processes, start=1):
            (tmp_path / f"worker-{number}.log").write_text("".join(worker.log))
            worker.stop()
        tail.stop()
        background.shutdown()

    # Then (the figures first, so that a failing run reports them too)
    summary = summarize(engine)
    with engine.connect() as c:
        applied = set(c.scalars(select(inbox_t.c.message_key)))
        history = c.execute(
            select(history_t.c.complaint_id, history_t.c.version, history_t.c.type)
        ).all()
        timers = c.execute(select(timers_t.c.complaint_id, timers_t.c.key, timers_t.c.due_at))
        pending = {tuple(row) for row in timers}
    rows, distinct_ids = history_counts(engine)
    warned = Counter(cid for cid, _, type_ in history if type_ == "sla.warning")
    log = event_log_of(kafka.bootstrap, topics.events, engine)
    lost = accepted - applied
    # what reached the inbound topic: the stream, the sweeper's firings, and their duplicates
    on_inbound = ask_cluster(kafka, lambda a: records_on(a, topics.inbound, PARTITIONS), "ends")
    inbound = values(read_topic(kafka.bootstrap, topics.inbound, sum(on_inbound.values())))
    figures: dict[str, Any] = {
        "case": f"{workers} worker(s) on {backend}",
        "kills": [k.figures() for k in kills],
        "events_sent": len(stream),
        "sends": upstream.sends,
        "resends": Counter(upstream.resends),
        "timers_fired": sum(warned.values()),
        "inbound_records": len(inbound),
        "inbound_duplicates": len(inbound) - len({e["event_id"] for e in inbound}),
        "lost": len(lost),
        "doubled_in_store": rows - distinct_ids,
        "timers_fired_twice": sum(1 for n in warned.values() if n > 1),
        "log_records": len(log),
        "log_duplicates": len(log) - len({e["event_id"] for e in log}),
        "timeline_s": marks,
    }
    (tmp_path / "failover.json").write_text(json.dumps(figures, indent=2))
    print(f"\nfailover figures: {json.dumps(figures)}")

    # every accepted event was applied exactly once (the inbox holds each once, by key)
    assert not lost
    assert summary.inbox == {"applied": wanted_inbox}, summary.inbox
    assert rows == distinct_ids == sum(len(h) for h in expected.history.values())
    # the outbox drained
    assert summary.outbox_backlog == 0
    # every complaint's history runs 1..N with no gap, and ends where a clean replay ends
    stored = stored_states(engine)
    assert stored == {cid: (c.state, c.version) for cid, c in expected.complaints.items()}
    versions: dict[str, list[int]] = defaultdict(list)
    for cid, version, _ in history:
        versions[cid].append(version)
    assert {cid: sorted(v) for cid, v in versions.items()} == {
        cid: list(range(1, version + 1)) for cid, (_, version) in stored.items()
    }
    # each timer fired once: one warning per timed-out complaint, the other timers pending
    assert set(warned.values()) == {1} and len(warned) == expected.timers_fired
    assert pending == {
        (cid, t.key, t.due_at) for cid, c in expected.complaints.items() for t in c.timers
    }
    # and the event log, deduplicated by event_id as consumers read it, is every history in order
    assert versions_on_log(log) == {cid: list(range(1, v + 1)) for cid, (_, v) in stored.items()}
    engine.dispose()
    restarted.result()
    ask_cluster(kafka, lambda a: in_sync(a, watched, BROKERS), "ISR", timeout=90)
    print(f"failover case done in {since(began)} s (the killed controller back in sync)")
