"""The inbound loop: poll a batch, process it in one transaction, commit offsets, relay.

Offsets are committed only after the batch's transaction, so a crash anywhere before that
redelivers the batch, and the inbox turns what was already applied into duplicates. All work
happens on this one thread; rebalance callbacks run inside `poll`, between batches.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2
from kafka.structs import OffsetAndMetadata

from complaintflow.engine.core.batch import InboundMessage
from complaintflow.engine.errors import BrokerUnavailable
from complaintflow.engine.kafka_clients import open_client
from complaintflow.engine.ports import Processor, Relay
from complaintflow.engine.settings import KafkaConnection

log = logging.getLogger(__name__)


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


class _Rebalance(ConsumerRebalanceListener):
    def __init__(
        self,
        on_assigned: Callable[[], None],
        on_revoked: Callable[[list[TopicPartition]], None],
    ) -> None:
        self.on_assigned = on_assigned
        self.on_revoked = on_revoked

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        log.info("partitions revoked: %s", sorted(tp.partition for tp in revoked))
        self.on_revoked(revoked)

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions assigned: %s", sorted(tp.partition for tp in assigned))
        self.on_assigned()


@dataclass
class InboundLoop:
    consumer: KafkaConsumer
    topic: str
    processor: Processor
    relay: Relay
    max_records: int = 1000
    stop: threading.Event = field(default_factory=threading.Event)
    on_assigned: Callable[[], None] = lambda: None
    """Called after each partition assignment (the first one: the worker is consuming)."""
    _last_offsets: dict[TopicPartition, OffsetAndMetadata] = field(default_factory=dict)

    def run(self) -> None:
        self._await_partitions()
        self.consumer.subscribe(
            [self.topic], listener=_Rebalance(self.on_assigned, self._forget_offsets)
        )
        try:
            while not self.stop.is_set():
                self.step()
            self._commit_last()
        finally:
            self.consumer.close(autocommit=False)

    def _await_partitions(self, timeout_s: float = 30.0) -> None:
        """Join the group only once this consumer knows the topic's partitions: on Apache
        Kafka a topic created moments ago can be missing from the first metadata, and a
        group leader without it assigns no partition to anyone."""
        deadline = time.monotonic() + timeout_s
        while not self.consumer.partitions_for_topic(self.topic):
            if time.monotonic() > deadline or self.stop.wait(0.1):
                if self.stop.is_set():
                    return
                raise BrokerUnavailable(f"no partitions of {self.topic} within {timeout_s:.0f} s")

    def step(self) -> None:
        polled = self.consumer.poll(timeout_ms=100, max_records=self.max_records)
        messages = [
            InboundMessage(
                topic=r.topic, partition=r.partition, offset=r.offset, key=r.key, value=r.value
            )
            for records in polled.values()
            for r in records
        ]
        if messages:
            self.processor.process(messages)
            self._commit(polled)
        owned = {tp.partition for tp in self.consumer.assignment() if tp.topic == self.topic}
        self.relay.drain(owned)

    def _commit(self, polled: dict[TopicPartition, list[Any]]) -> None:
        """Asynchronous: the batch is already durable in the store, so waiting for the
        broker's answer only stalls the next batch (about 8% of the worker's time). A commit
        that fails or is lost to a crash or rebalance redelivers, and the inbox absorbs it."""
        offsets = {
            tp: OffsetAndMetadata(records[-1].offset + 1, "", -1)
            for tp, records in polled.items()
            if records
        }
        self._last_offsets.update(offsets)
        self.consumer.commit_async(offsets, callback=_note_refused_commit)

    def _forget_offsets(self, revoked: list[TopicPartition]) -> None:
        """A revoked partition's offsets are its next owner's to commit: committing ours
        later (if it came back before a poll) would move the group back."""
        for tp in revoked:
            self._last_offsets.pop(tp, None)

    def _commit_last(self) -> None:
        """On a clean stop, wait for the last offsets, so a restart redelivers nothing."""
        if not self._last_offsets:
            return
        try:
            self.consumer.commit(dict(self._last_offsets))
        except KafkaError as exc:
            _note_refused_commit(self._last_offsets, exc)


def _note_refused_commit(
    _offsets: dict[TopicPartition, OffsetAndMetadata], response: object
) -> None:
    if isinstance(response, Exception):
        log.info("offset commit refused (%s); the inbox absorbs the redelivery", response)
