"""The worker's batch path without Kafka: decode, decide, one transaction per batch, outbox
relay to a publisher that only counts. Prints events/s and the collector's time per generation.

    .venv/bin/python -m benchmarks.batch_store [--complaints 10000] [--batch 1000]
        [--database-url sqlite:///...] [--no-freeze]

`complaintflow bench` measures the whole worker with the broker; this isolates what the
worker spends per batch (run it under py-spy to see where).
"""

import argparse
import gc
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from complaintflow.consumers.kafka_consumer import partitioner
from complaintflow.engine.bootstrap import load_workflow
from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.entrypoints.cli.sample_day import DAY_START, sample_day
from complaintflow.engine.ports import SendFailure
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.service.processing import BatchProcessor
from complaintflow.engine.service.worker import settle_heap
from complaintflow.producers.outbox_relay import OutboxRelay
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.outbox_store import SqlAlchemyOutbox
from complaintflow.state_store.schema import upgrade
from complaintflow.state_store.unit_of_work import SqlAlchemyStore

PARTITIONS = 6
TOPIC = "complaints.inbound"


class CountingPublisher:
    def __init__(self) -> None:
        self.published = 0

    def publish(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        self.published += len(messages)

    def deliver(
        self, messages: Sequence[tuple[str, bytes | None, bytes]]
    ) -> dict[int, SendFailure]:
        self.publish(messages)
        return {}


class CollectorTimes:
    """Time the cyclic collector spends per generation, from gc.callbacks."""

    def __init__(self) -> None:
        self.runs = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        self.runs[generation] += 1
        self.seconds[generation] += time.perf_counter() - self._started


Polled = tuple[int, int, bytes | None, bytes]


def inbound(complaints: int) -> list[Polled]:
    """The sample day as (partition, offset, key, value), keyed and partitioned by complaint.
    Plain tuples, which the collector stops tracking, so the run's heap is the worker's."""
    partition_of = partitioner(PARTITIONS)
    polled: list[Polled] = []
    for offset, line in enumerate(sample_day(complaints=complaints, seed=23)):
        event = decode_event(line)
        if isinstance(event, Refusal):
            polled.append((0, offset, None, line))
        else:
            key = event.complaint_id
            polled.append((partition_of(key), offset, key.encode(), line))
    return polled


def messages_of(polled: Sequence[Polled]) -> list[InboundMessage]:
    """Built per batch, as the worker builds them from a poll."""
    return [
        InboundMessage(topic=TOPIC, partition=p, offset=o, key=k, value=v) for p, o, k, v in polled
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--no-freeze", action="store_true", help="skip the worker's gc.freeze")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        engine = open_engine(args.database_url or f"sqlite:///{workdir}/bench.db")
        upgrade(engine)
        polled = inbound(args.complaints)
        clock = FixedClock(DAY_START)
        topics = Topics("complaints")
        processor = BatchProcessor(
            SqlAlchemyStore(engine, clock), load_workflow(), clock, topics, partitioner(PARTITIONS)
        )
        publisher = CountingPublisher()
        relay = OutboxRelay(SqlAlchemyOutbox(engine), publisher, clock)
        collector = CollectorTimes()
        if not args.no_freeze:
            settle_heap()
        gc.callbacks.append(collector)
        started = time.perf_counter()
        for start in range(0, len(polled), args.batch):
            processor.process(messages_of(polled[start : start + args.batch]))
            relay.drain(range(PARTITIONS))
        elapsed = time.perf_counter() - started
        gc.callbacks.remove(collector)
        engine.dispose()
    print(
        f"{len(polled):,} events in batches of {args.batch} in {elapsed:.2f} s: "
        f"{len(polled) / elapsed:,.0f} events/s; {publisher.published:,} outbox rows relayed"
    )
    print(
        "collector: "
        + ", ".join(
            f"gen{g} {collector.runs[g]} runs {collector.seconds[g]:.2f} s" for g in range(3)
        )
        + (" (heap not frozen)" if args.no_freeze else " (startup heap frozen)")
    )


if __name__ == "__main__":
    main()
