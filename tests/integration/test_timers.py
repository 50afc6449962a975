"""Durable timers on a real broker and SQLite: the sweeper turns due rows into timer.fired
events that are applied in order, once, with the worker's injected clock."""

from collections import Counter
from datetime import timedelta

from complaintflow.engine.core.topics import Topics
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.settings import Settings
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.tables import timers_t
from tests.support.broker import publish, read_topic, running_worker, values
from tests.support.builders import MONDAY_9, raw

VIP_SOCIAL_REFUND = {
    "customer_id": "U9",
    "channel": "social",
    "category": "refund",
    "description": "public complaint",
    "order_id": "O9",
    "amount": "2500.00",
    "customer_tier": "vip",
}


def test_deadlines_warn_breach_and_climb_the_ladder_once_each(
    broker: str, topics: Topics, sqlite_url: str
) -> None:
    clock = FixedClock(MONDAY_9)
    settings = Settings(
        database_url=sqlite_url, topic_prefix=topics.prefix, group_id=f"{topics.prefix}-g"
    )
    publish(
        broker,
        topics.inbound,
        [(b"C-t", raw("complaint.received", complaint_id="C-t", payload=VIP_SOCIAL_REFUND))],
    )
    with running_worker(settings, broker, clock):
        read_topic(broker, topics.events, 2)
        # When the clock passes the 3-minute first-response deadline
        clock.advance(timedelta(minutes=10))
        log = values(read_topic(broker, topics.events, 5))
        # Then the warning, the breach and the first rung follow, in that order
        assert [(e["version"], e["type"]) for e in log[2:]] == [
            (3, "sla.warning"),
            (4, "sla.breached"),
            (5, "complaint.escalated"),
        ]
        assert log[4]["payload"] == {"level": "supervisor", "cause": "overdue"}
        # And after the ladder's 4 h delay, the manager; handling deadlines fire on the way
        clock.advance(timedelta(hours=5))
        log = values(
            read_topic(
                broker,
                topics.events,
                enough=lambda r: any('"manager"' in x.value.decode() for x in r),
            )
        )
        alerts = values(read_topic(broker, topics.alerts, enough=lambda r: len(r) >= 5))
    types = Counter((e["type"], e["payload"].get("deadline")) for e in log)
    assert types[("sla.warning", "first_response")] == 1
    assert types[("sla.breached", "first_response")] == 1
    assert [e["version"] for e in log] == list(range(1, len(log) + 1))
    assert {a["type"] for a in alerts} <= {"sla.warning", "sla.breached", "complaint.escalated"}
    with open_engine(sqlite_url).connect() as c:
        keys = {k for (k,) in c.execute(timers_t.select().with_only_columns(timers_t.c.key))}
    assert "first_response.breach" not in keys and "first_response.warning" not in keys
