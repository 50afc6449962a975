"""A desk service: what a department (or the survey/call-back team) runs to answer the engine.

It reads one of the engine's topics in its own consumer group (complaints.assignments.<dept>
for a department, complaints.revisits for revisits), hands each entry once to `answer`, and
publishes the events `answer` returns through the typed publisher before committing the
entry's offset. So a crash redelivers at most what was not yet answered; the reply's
event_id, derived from the request's (`reply_id`), makes the engine's inbox drop a reply
sent twice. A bounded memory of event ids drops the duplicates the event log may hold
(a relay cut off mid-publish sends a row again).
"""

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

from kafka import KafkaConsumer
from pydantic import ValidationError

from complaintflow.engine.core.events import Envelope, LogEntry

log = logging.getLogger(__name__)
REMEMBERED_IDS = 100_000
_REPLY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:complaintflow:desk-reply")

Answer = Callable[[LogEntry], Iterable[Envelope]]


class EventSink(Protocol):
    def publish(self, event: Envelope) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


def reply_id(request_id: UUID | str, n: int = 0) -> UUID:
    """The event_id of the n-th reply to the request `request_id`: the same on every
    redelivery, so the engine's inbox drops a reply sent twice."""
    return uuid5(_REPLY_NAMESPACE, f"{request_id}:{n}")


class _SeenIds:
    def __init__(self, size: int) -> None:
        self.size, self.ids = size, OrderedDict[UUID, None]()

    def first_time(self, event_id: UUID) -> bool:
        if event_id in self.ids:
            return False
        self.ids[event_id] = None
        if len(self.ids) > self.size:
            self.ids.popitem(last=False)
        return True


class DeskService:
    def __init__(self, consumer: KafkaConsumer, sink: EventSink, answer: Answer) -> None:
        self.consumer, self.sink, self.answer = consumer, sink, answer
        self.seen = _SeenIds(REMEMBERED_IDS)
        self.answered = 0

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set; the consumer and the publisher are closed on the way out."""
        try:
            while not stop.is_set():
                self.poll_once()
        finally:
            self.consumer.close(autocommit=False)
            self.sink.close()

    def poll_once(self, timeout_ms: int = 200) -> None:
        polled = self.consumer.poll(timeout_ms=timeout_ms)
        if not polled:
            return
        for records in polled.values():
            for record in records:
                self._take(record.value)
        self.sink.flush()
        self.consumer.commit()

    def _take(self, value: bytes) -> None:
        try:
            entry = LogEntry.model_validate_json(value)
        except ValidationError:
            log.warning("skipped a record that is not an event-log entry")
            return
        if not self.seen.first_time(entry.event_id):
            return
        for event in self.answer(entry):
            self.sink.publish(event)
            self.answered += 1
