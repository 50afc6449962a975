"""The worker's Kafka consumer: its settings, and what the inbound topic's partitions are."""

from collections.abc import Callable
from functools import lru_cache

from kafka import KafkaConsumer
from kafka.partitioner.default import murmur2

from complaintflow.engine.errors import BrokerUnavailable
from complaintflow.engine.kafka_clients import open_client
from complaintflow.engine.settings import KafkaConnection


def consumer_for(connection: KafkaConnection, group_id: str, **overrides: object) -> KafkaConsumer:
    """Small poll and session intervals: a consumer group on the embedded broker forms in
    about max_poll_interval_ms, and a dead worker's partitions move after session_timeout_ms."""
    return open_client(
        KafkaConsumer,
        connection,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_interval_ms=overrides.pop("max_poll_interval_ms", 10_000),
        session_timeout_ms=overrides.pop("session_timeout_ms", 6_000),
        heartbeat_interval_ms=overrides.pop("heartbeat_interval_ms", 1_000),
        # a group formed before a new topic's metadata reached its leader assigns nothing;
        # the next metadata refresh sees the partitions and rejoins (default: 5 minutes)
        metadata_max_age_ms=overrides.pop("metadata_max_age_ms", 5_000),
        fetch_max_bytes=32 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        **overrides,
    )


def inbound_partitions(connection: KafkaConnection, topic: str) -> int:
    """How many partitions the inbound topic has: outbox rows are numbered by the partition
    their complaint hashes to, so the relay of a partition's owner publishes them."""
    consumer = consumer_for(connection, group_id="complaintflow-metadata")
    try:
        partitions = consumer.partitions_for_topic(topic)
    finally:
        consumer.close(autocommit=False)
    if not partitions:
        raise BrokerUnavailable(f"topic {topic} does not exist on {connection.bootstrap_servers}")
    return len(partitions)


def partitioner(partitions: int) -> Callable[[str], int]:
    """Kafka's default key partitioner, so outbox rows belong to the complaint's partition."""

    @lru_cache(maxsize=200_000)
    def partition_of(complaint_id: str) -> int:
        return (murmur2(complaint_id.encode()) & 0x7FFFFFFF) % partitions

    return partition_of
