"""The worker's batch path without Kafka: decode, decide, one transaction per batch, outbox
relay to a publisher that only counts. Prints events/s and the collector's time per generation.

    .venv/bin/python benchmarks/batch_store.py [--complaints 10000] [--batch 1000]
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

from complaintflow.consumers.kafka_loop import partitioner
from complaintflow.engine.batch import InboundMessage
from complaintflow.engine.clock import FixedClock
from complaintflow.engine.decoding import decode_event
from complaintflow.engine.outcome import Refusal
from complaintflow.engine.processing import BatchProcessor
from complaintflow.engine.topics import Topics
from complaintflow.engine.worker import settle_heap
from complaintflow.engine.workflow import load_workflow
from complaintflow.producers.outbox_relay import OutboxRelay
from complaintflow.producers.sample_day import DAY_START, sample_day
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.outbox_store import SqlAlchemyOutbox
from complaintflow.state_store.schema import upgrade
from complaintflow.state_store.unit_of_work import SqlAlchemyStore

PARTITIONS = 6


class CountingPublisher:
    def __init__(self) -> None:
        self.published = 0

    def publish(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        self.published += len(messages)


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


def inbound(complaints: int) -> list[InboundMessage]:
    """The sample day as the worker would poll it, keyed and partitioned by complaint."""
    partition_of = partitioner(PARTITIONS)
    messages = []
    for offset, line in enumerate(sample_day(complaints=complaints, seed=23)):
        event = decode_event(line)
        key = None if isinstance(event, Refusal) else event.complaint_id
        messages.append(
            InboundMessage(
                topic="complaints.inbound",
                partition=0 if key is None else partition_of(key),
                offset=offset,
                key=None if key is None else key.encode(),
                value=line,
            )
        )
    return messages


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
        messages = inbound(args.complaints)
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
        for start in range(0, len(messages), args.batch):
            processor.process(messages[start : start + args.batch])
            relay.drain(range(PARTITIONS))
        elapsed = time.perf_counter() - started
        gc.callbacks.remove(collector)
        engine.dispose()
    print(
        f"{len(messages):,} events in batches of {args.batch} in {elapsed:.2f} s: "
        f"{len(messages) / elapsed:,.0f} events/s; {publisher.published:,} outbox rows relayed"
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
