"""The Kafka adapter of the `Publisher` port: ordered, acknowledged sends.

One in-flight request per connection and acks=all keep per-partition order across retries, so
a complaint's event-log entries reach Kafka in version order.
"""

from collections.abc import Sequence

from kafka import KafkaProducer
from kafka.errors import KafkaError

from complaintflow.engine.errors import BrokerUnavailable
from complaintflow.engine.kafka_clients import open_client
from complaintflow.engine.settings import KafkaConnection


def producer_for(connection: KafkaConnection, **overrides: object) -> KafkaProducer:
    return open_client(
        KafkaProducer,
        connection,
        acks="all",
        linger_ms=2,
        batch_size=256 * 1024,
        max_in_flight_requests_per_connection=1,
        retries=5,
        request_timeout_ms=10_000,
        **overrides,
    )


class KafkaPublisher:
    def __init__(self, connection: KafkaConnection) -> None:
        self.producer = producer_for(connection)

    def publish(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        """Send all, wait for every acknowledgement; any failure raises BrokerUnavailable."""
        try:
            futures = [
                self.producer.send(topic, key=key, value=value) for topic, key, value in messages
            ]
            self.producer.flush(timeout=30)
            for future in futures:
                future.get(timeout=30)
        except KafkaError as exc:
            raise BrokerUnavailable(f"publish failed: {exc}") from None

    def close(self) -> None:
        self.producer.close(timeout=5)
