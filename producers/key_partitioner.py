"""kafka-python's default partitioning with each key's hash remembered.

The producer hashes every record's key with a pure-Python murmur2, about 2 % of a worker's
time under a backlog (py-spy, `complaintflow bench`), while a worker sends the same few
thousand complaint ids again and again. The choice is the default partitioner's, so a
complaint's events land where any other Kafka client would put them."""

import random
from functools import lru_cache
from typing import Any

from kafka.partitioner.abc import Partitioner
from kafka.partitioner.default import murmur2


@lru_cache(maxsize=200_000)
def _positive_hash(key: bytes) -> int:
    return murmur2(key) & 0x7FFFFFFF


class KeyCachedPartitioner(Partitioner):
    def partition(
        self,
        topic: str,
        key: object,
        serialized_key: bytes | None,
        value: object,
        serialized_value: bytes | None,
        cluster: Any,
    ) -> int:
        if topic not in cluster.topics():
            raise ValueError(f"Topic {topic} not found in ClusterMetadata")
        all_partitions = sorted(cluster.partitions_for_topic(topic))
        if serialized_key is not None:
            return int(all_partitions[_positive_hash(serialized_key) % len(all_partitions)])
        available = list(cluster.available_partitions_for_topic(topic))
        return int(random.choice(available or all_partitions))
