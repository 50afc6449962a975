"""The small interfaces the processing loop talks to; adapters live in state_store/,
consumers/ and producers/."""

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from complaintflow.engine.core.batch import BatchChanges, InboundMessage
from complaintflow.engine.core.complaint import Complaint


class UnitOfWork(Protocol):
    """One transaction. Nothing is kept unless `commit` is called; `write` raises
    `ConcurrencyConflict` when another worker changed a complaint first."""

    def seen(self, keys: Collection[str]) -> set[str]:
        """Which of these inbox keys were already processed."""
        ...

    def resolve_aliases(self, complaint_ids: Collection[str]) -> dict[str, str]:
        """merged id -> the complaint it was merged into, for those that were merged."""
        ...

    def load(self, complaint_ids: Collection[str]) -> dict[str, Complaint]: ...

    def open_orders(self, pairs: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """(customer_id, order_id) -> the open complaint registered for it."""
        ...

    def write(self, changes: BatchChanges) -> None: ...

    def commit(self) -> None: ...


class Store(Protocol):
    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]: ...


class Publisher(Protocol):
    def publish(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        """Send (topic, key, value) in order and return once the broker has them all."""
        ...


class Processor(Protocol):
    def process(self, messages: Sequence[InboundMessage]) -> BatchChanges:
        """Apply one polled batch in one transaction; return what it changed."""
        ...
