"""The ports: every interface the processing loop, the relay, the sweeper and the trend watch
talk to. Adapters implement them in state_store/, consumers/ and producers/; the tests' fakes
(tests/support/fakes.py) implement them in memory, so the loop's own logic is tested without
I/O."""

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from complaintflow.engine.core.batch import BatchChanges
from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.core.payloads import SimilarCase
from complaintflow.engine.core.trends import TrendAlert, TrendFigures
from complaintflow.engine.core.vocabulary import Category


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


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

    def similar_cases(
        self, subjects: Mapping[str, tuple[Category, str, bool]], limit: int
    ) -> dict[str, tuple[SimilarCase, ...]]:
        """For each complaint id: up to `limit` resolved complaints closest to its (category,
        description, already indexed), same category first, for as many complaints as fit
        in the store's time budget; complaints with none (or past the budget) are left out."""
        ...

    def write(self, changes: BatchChanges) -> None: ...

    def commit(self) -> None: ...


class Store(Protocol):
    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]: ...


OutboxRow = tuple[int, str, bytes | None, bytes]
"""(id, topic, key, value) of a message written in a batch's transaction."""


class Outbox(Protocol):
    """Messages written with the state that caused them, waiting for the relay."""

    def unsent(self, partitions: Collection[int], limit: int) -> Sequence[OutboxRow]:
        """The oldest unsent rows of these inbound partitions, in the order written."""
        ...

    def mark_sent(self, ids: Collection[int], at: datetime) -> None: ...

    def purge_sent(self, partitions: Collection[int], older_than: datetime, limit: int) -> int:
        """Of the `limit` oldest rows of these partitions, delete those sent before
        `older_than`; return how many. Rows are sent in about the order written, so when the
        oldest was sent at or after `older_than` nothing is deleted (a row held back and sent
        late holds the purge up until it is old too). Looking at a bounded head keeps each
        call short however large the table is."""
        ...


@dataclass(frozen=True)
class DueTimer:
    complaint_id: str
    key: str
    due_at: datetime


class DueTimers(Protocol):
    """Timer rows, claimed with expiring leases so that no timer fires twice at once."""

    def claim_due(
        self, now: datetime, limit: int, owner: str, lease: timedelta
    ) -> list[DueTimer]: ...


@dataclass(frozen=True)
class SendFailure:
    """Why one message did not reach the broker. `permanent` when the broker (or the client,
    on the broker's behalf) refuses this message for good, a message too large for it or an
    invalid topic: sending it again can never succeed, so it must be moved aside rather than
    retried. Anything else (the broker away, a timeout, a producer that had to be replaced) is
    worth retrying later."""

    reason: str
    permanent: bool


class Publisher(Protocol):
    def publish(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        """Send (topic, key, value) in order and return once the broker has them all; raise
        BrokerUnavailable when any of them failed."""
        ...

    def deliver(
        self, messages: Sequence[tuple[str, bytes | None, bytes]]
    ) -> dict[int, SendFailure]:
        """Send (topic, key, value) in order; return the failure of each message the broker
        did not acknowledge, by its index (empty: it has them all). Never raises for the
        broker's sake. Messages with the same key reach the broker in the order given; a caller
        treats those after a failure that is not permanent as unsent too and sends them again
        after it (duplicates, which consumers drop by event_id)."""
        ...


class TrendStore(Protocol):
    def figures(self, now: datetime, window: timedelta, baseline_windows: int) -> TrendFigures:
        """Complaint counts for the window ending at `now` and its baseline."""
        ...

    def record(
        self,
        alerts: Sequence[TrendAlert],
        topic: str,
        partition_of: Callable[[str], int],
        at: datetime,
    ) -> list[TrendAlert]:
        """Write alerts not written before, each with its outbox row; return the new ones."""
        ...


class Processor(Protocol):
    def process(self, messages: Sequence[InboundMessage]) -> BatchChanges:
        """Apply one polled batch in one transaction; return what it changed."""
        ...


class Relay(Protocol):
    def drain(self, partitions: Collection[int], budget_s: float = 2.0) -> int:
        """Publish what the outbox holds for these partitions; return rows published."""
        ...


class OutageWatch(Protocol):
    """The worker's view of its database (engine/service/database_outage.py), shared with
    the scheduler's jobs."""

    @property
    def down(self) -> bool: ...

    def reason_of(self, exc: BaseException) -> str | None:
        """One line on why the database cannot be used, or None: `exc` is not an outage."""
        ...

    def failed(self, reason: str) -> None: ...

    def recovered(self) -> None: ...

    def check_limit(self) -> None:
        """Raise once the outage has lasted the configured limit."""
        ...


class BatchApplier(Processor, Protocol):
    def dead_letter(self, message: InboundMessage, error: Exception) -> BatchChanges:
        """Refuse this one message as internal_error, `error` saying why."""
        ...

    def probe(self) -> None:
        """Raise what processing would raise while the database cannot take a batch."""
        ...
