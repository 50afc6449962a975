"""Trend alerts end to end: a worker's APScheduler job finds a category spiking and the alert
reaches complaints.alerts through the outbox; however many workers look, once per period."""

import json
from datetime import datetime, timedelta

from sqlalchemy import select

from complaintflow.consumers.kafka_consumer import partitioner
from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.service.processing import BatchProcessor
from complaintflow.engine.service.trend_watch import HANDLED_STATES, TrendWatch, thresholds_from
from complaintflow.engine.settings import Settings
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.metrics_store import SqlAlchemyWorkerMetrics
from complaintflow.state_store.summary import summarize
from complaintflow.state_store.tables import outbox_t
from complaintflow.state_store.trend_store import SqlAlchemyTrends
from complaintflow.state_store.unit_of_work import SqlAlchemyStore
from tests.support.broker import publish, read_topic, running_worker, values
from tests.support.builders import MONDAY_9, RECEIVED, raw
from tests.support.waiting import wait_for

NOON = MONDAY_9 + timedelta(hours=3)
HOUR = timedelta(hours=1)


def received(complaint_id: str, at: datetime, category: str) -> tuple[bytes, bytes]:
    payload = {**RECEIVED, "customer_id": complaint_id, "order_id": complaint_id}
    payload["category"] = category
    value = raw("complaint.received", complaint_id=complaint_id, at=at, payload=payload)
    return complaint_id.encode(), value


def refunds_spike_before_noon() -> list[tuple[bytes, bytes]]:
    """Baseline (9:00 to 11:00): 1 refund, 3 logistics. Last hour: 4 refunds, 1 logistics."""
    minutes = timedelta(minutes=1)
    return [
        received("L-1", MONDAY_9, "logistics"),
        received("R-0", MONDAY_9 + 30 * minutes, "refund"),
        received("L-2", MONDAY_9 + HOUR, "logistics"),
        received("L-3", MONDAY_9 + 90 * minutes, "logistics"),
        *(received(f"R-{n}", NOON - HOUR + 10 * n * minutes, "refund") for n in range(1, 5)),
        received("L-4", NOON - 45 * minutes, "logistics"),
    ]


def trend_settings(database_url: str, topics: Topics) -> Settings:
    return Settings(
        database_url=database_url,
        topic_prefix=topics.prefix,
        group_id=f"{topics.prefix}-g",
        trend_window=HOUR,
        trend_baseline_windows=3,
        trend_spike_factor=2.0,
        trend_min_count=3,
        trend_overdue_share=1.0,  # breaches fire at noon; only the spike is under test
        trend_check_every=timedelta(milliseconds=200),
    )


def test_a_volume_spike_reaches_complaints_alerts(
    broker: str, topics: Topics, sqlite_url: str
) -> None:
    # Given complaints whose refunds spike in the hour before noon
    published = refunds_spike_before_noon()
    publish(broker, topics.inbound, published)
    settings = trend_settings(sqlite_url, topics)
    with running_worker(
        settings.model_copy(update={"trend_check_every": timedelta(hours=1)}), broker
    ):
        wait_for(
            lambda: summarize(open_engine(sqlite_url)).processed == len(published),
            60,
            "the complaints to be taken in (no trend check runs meanwhile)",
        )
    # When a worker whose clock stands at noon runs its trend job on them
    with running_worker(settings, broker, FixedClock(NOON)) as worker:
        alerts = read_topic(
            broker,
            topics.alerts,
            enough=lambda records: any(b"trend.volume_spike" in r.value for r in records),
        )
    # Then the spike is on complaints.alerts, keyed by its subject, with the figures
    (spike,) = [r for r in alerts if b"trend.volume_spike" in r.value]
    message = json.loads(spike.value)
    assert spike.key == b"trend:refund"
    assert message["type"] == "trend.volume_spike"
    assert message["subject"] == "refund"
    window = message["payload"].pop("window_start"), message["payload"].pop("window_end")
    assert tuple(map(datetime.fromisoformat, window)) == (NOON - HOUR, NOON)
    assert message["payload"] == {
        "category": "refund",
        "count": 4,
        "baseline_mean": 0.5,  # one refund over the two windows the store's history covers
        "baseline_windows": 2,
        "factor": 2.0,
        "min_count": 3,
    }
    assert [v["type"] for v in values(alerts) if v["type"].startswith("trend.")] == [
        "trend.volume_spike"
    ]
    # and the worker saved its own figures for `complaintflow serve`
    saved = SqlAlchemyWorkerMetrics(open_engine(sqlite_url)).read()[worker.worker_id]
    applied = [s.value for s in saved if s.name == "events_applied"]
    assert applied[0] >= len(published)


def test_a_trend_is_recorded_once_per_period_whoever_finds_it(
    database_url: str, workflow: Workflow
) -> None:
    # Given the refund spike in the store
    engine = open_engine(database_url)
    clock = FixedClock(NOON)
    topics = Topics()
    processor = BatchProcessor(
        SqlAlchemyStore(engine, clock), workflow, clock, topics, partitioner(4)
    )
    processor.process(
        [
            InboundMessage(topic=topics.inbound, partition=0, offset=n, key=key, value=value)
            for n, (key, value) in enumerate(refunds_spike_before_noon())
        ]
    )
    thresholds = thresholds_from(trend_settings(database_url, topics))
    closed = HANDLED_STATES.union(workflow.definition.final_states)

    def watch() -> TrendWatch:
        trends = SqlAlchemyTrends(engine, closed)
        return TrendWatch(trends, clock, thresholds, topics, partitioner(4))

    first, second = watch(), watch()
    # When two workers check, the first twice, within the same hour
    raised = [first.check(), second.check(), first.check()]
    clock.advance(timedelta(minutes=20))
    raised.append(second.check())
    # Then only the first check raised it, and one outbox row carries it
    assert [[a.subject for a in r] for r in raised] == [["refund"], [], [], []]
    with engine.connect() as c:
        rows = c.execute(select(outbox_t.c.key).where(outbox_t.c.topic == topics.alerts)).all()
    assert [key for (key,) in rows if key.startswith(b"trend:")] == [b"trend:refund"]
    engine.dispose()
