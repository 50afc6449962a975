"""The relay's partitioner chooses what kafka-python's default one chooses."""

from hypothesis import given
from hypothesis import strategies as st
from kafka.partitioner.default import DefaultPartitioner

from complaintflow.producers.key_partitioner import KeyCachedPartitioner


class Cluster:
    def __init__(self, partitions: int, available: set[int]) -> None:
        self.partitions, self.available = set(range(partitions)), available

    def topics(self) -> set[str]:
        return {"complaints.events"}

    def partitions_for_topic(self, _topic: str) -> set[int]:
        return self.partitions

    def available_partitions_for_topic(self, _topic: str) -> set[int]:
        return self.available


@given(key=st.binary(max_size=80), partitions=st.integers(min_value=1, max_value=64))
def test_a_keyed_record_goes_where_the_default_partitioner_sends_it(
    key: bytes, partitions: int
) -> None:
    cluster = Cluster(partitions, set())
    expected = DefaultPartitioner().partition("complaints.events", key, key, b"", b"", cluster)
    cached = KeyCachedPartitioner()
    assert cached.partition("complaints.events", key, key, b"", b"", cluster) == expected
    assert cached.partition("complaints.events", key, key, b"", b"", cluster) == expected


def test_a_record_without_key_goes_to_an_available_partition() -> None:
    cluster = Cluster(6, {4})
    chosen = {
        KeyCachedPartitioner().partition("complaints.events", None, None, b"", b"", cluster)
        for _ in range(20)
    }
    assert chosen == {4}
