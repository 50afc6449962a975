"""A small typed publisher for upstream systems and department services.

    with ComplaintPublisher("kafka:9092") as publisher:
        publisher.publish(AgentResponded(event_id=uuid4(), type="agent.responded", ...))

Envelopes are pydantic models, so what is published has already passed the contract's
validation; the message key is the complaint id, which keeps a complaint's events in order.
"""

from types import TracebackType

from complaintflow.engine.core.events import Envelope
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.settings import KafkaConnection
from complaintflow.producers.kafka_publisher import producer_for


class ComplaintPublisher:
    def __init__(
        self, bootstrap_servers: KafkaConnection | str, topic_prefix: str = "complaints"
    ) -> None:
        self.topic = Topics(topic_prefix).inbound
        self.producer = producer_for(KafkaConnection.of(bootstrap_servers))

    def publish(self, event: Envelope) -> None:
        self.publish_raw(event.complaint_id.encode(), event.model_dump_json().encode())

    def publish_raw(self, key: bytes | None, value: bytes) -> None:
        """Bytes as they are: for replaying captured traffic and for fault drills."""
        self.producer.send(self.topic, key=key, value=value)

    def flush(self) -> None:
        self.producer.flush(timeout=60)

    def close(self) -> None:
        self.producer.close(timeout=10)

    def __enter__(self) -> "ComplaintPublisher":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.flush()
        self.close()
