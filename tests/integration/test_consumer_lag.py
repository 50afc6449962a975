"""Consumer lag on a real broker: what the workers' group has not committed, per partition,
as GET /metrics shows it."""

from typing import Any

from complaintflow.consumers.consumer_lag import ConsumerLag
from complaintflow.consumers.kafka_consumer import consumer_for
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.entrypoints.http.metrics import StoreCollector
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.settings import KafkaConnection
from complaintflow.state_store.database import open_engine
from tests.support.broker import publish
from tests.support.builders import MONDAY_9
from tests.support.waiting import wait_for


def lag_samples(collector: StoreCollector) -> dict[tuple[str, ...], float]:
    return {
        (s.name, *s.labels.values()): s.value
        for family in collector.collect()
        if family.name.startswith("complaintflow_consumer_lag")
        for s in family.samples
    }


def test_lag_is_what_the_group_has_not_committed(
    broker: str, topics: Topics, sqlite_url: str
) -> None:
    # Given five messages on the inbound topic and a group that has committed nothing
    group = f"{topics.prefix}-workers"
    for n in range(5):  # one request each: the embedded broker gives a batch one offset
        publish(broker, topics.inbound, [(f"C-{n}".encode(), b"{}")])
    lag = ConsumerLag(KafkaConnection.of(broker), group, topics.inbound)
    collector = StoreCollector(
        open_engine(sqlite_url), FixedClock(MONDAY_9), lag.by_partition, topics.inbound
    )
    try:
        before = lag_samples(collector)
        assert before[("complaintflow_consumer_lag_up",)] == 1
        assert sum(v for k, v in before.items() if k[0] == "complaintflow_consumer_lag") == 5
        assert {k[1:] for k in before if k[0] == "complaintflow_consumer_lag"} == {
            (topics.inbound, str(p)) for p in range(4)
        }
        # When the group consumes them and commits
        consumer = consumer_for(KafkaConnection.of(broker), group)
        consumer.subscribe([topics.inbound])
        seen: list[Any] = []

        def consumed_all() -> bool:
            for records in consumer.poll(timeout_ms=200).values():
                seen.extend(records)
            return len(seen) == 5

        wait_for(consumed_all, timeout=60, what="the group to consume five messages")
        consumer.commit()
        consumer.close(autocommit=False)
        # Then nothing lags
        after = lag_samples(collector)
        assert sum(v for k, v in after.items() if k[0] == "complaintflow_consumer_lag") == 0
    finally:
        lag.close()


def test_an_unreachable_broker_shows_as_lag_down(sqlite_url: str) -> None:
    lag = ConsumerLag(KafkaConnection.of("127.0.0.1:1"), "nobody", "complaints.inbound")
    collector = StoreCollector(
        open_engine(sqlite_url), FixedClock(MONDAY_9), lag.by_partition, "complaints.inbound"
    )
    assert lag_samples(collector) == {("complaintflow_consumer_lag_up",): 0}
