"""Consumer lag of the workers' group on complaints.inbound, per partition: the newest offset
minus the group's committed one (or minus the oldest offset when the group has committed
nothing there yet, since the workers then start from the beginning).

The probe never joins the group (it only asks for offsets), so reading lag cannot trigger a
rebalance of the workers. One consumer is kept and reused under a lock, and dropped after an
error so that the next read connects afresh.
"""

import threading

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from complaintflow.engine.errors import BrokerUnavailable
from complaintflow.engine.kafka_clients import open_client
from complaintflow.engine.settings import KafkaConnection


class ConsumerLag:
    def __init__(self, connection: KafkaConnection, group_id: str, topic: str) -> None:
        self.connection = connection
        self.group_id = group_id
        self.topic = topic
        self._lock = threading.Lock()
        self._consumer: KafkaConsumer | None = None

    def by_partition(self) -> dict[int, int]:
        with self._lock:
            try:
                return self._read()
            except (KafkaError, OSError) as exc:
                self.close()
                raise BrokerUnavailable(f"consumer lag unavailable: {exc!r}") from None

    def _read(self) -> dict[int, int]:
        if self._consumer is None:
            self._consumer = open_client(
                KafkaConsumer,
                self.connection,
                group_id=self.group_id,
                enable_auto_commit=False,
                request_timeout_ms=5_000,
                bootstrap_timeout_ms=5_000,  # a scrape waits at most this for a dead broker
            )
        consumer = self._consumer
        partitions = [
            TopicPartition(self.topic, p)
            for p in sorted(consumer.partitions_for_topic(self.topic) or [])
        ]
        if not partitions:
            raise BrokerUnavailable(f"topic {self.topic} does not exist")
        ends = consumer.end_offsets(partitions)
        starts = consumer.beginning_offsets(partitions)
        lag = {}
        for tp in partitions:
            committed = consumer.committed(tp)
            position = starts[tp] if committed is None else committed
            lag[tp.partition] = max(0, ends[tp] - position)
        return lag

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None
