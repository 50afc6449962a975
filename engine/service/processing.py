"""One polled batch, effectively once: read what it addresses, decide it in memory, write
everything in one transaction. The caller commits Kafka offsets only after this returns.

A conflict with another worker (same complaint, inbox key or order, e.g. during a rebalance)
rolls the transaction back; the batch is then decided again from fresh state, where the
inbox turns what the other worker already applied into duplicates.

A database that cannot be used raises `StoreUnavailable` out of here, anything else that
breaks the batch raises as it is: the consumer loop holds the batch and retries it, and
dead-letters (`dead_letter`) the one event that breaks every batch it is in.
"""

import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from complaintflow.engine.core.batch import (
    MAX_OUTBOUND_BYTES,
    BatchChanges,
    BatchContext,
    Decide,
    addressed,
    decide_batch,
    decode_batch,
)
from complaintflow.engine.core.decoding import MAX_EVENT_BYTES
from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.core.outcome import Outcome
from complaintflow.engine.core.precedents import PRECEDENTS_PER_ASSIGNMENT, precedent_subjects
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.errors import ConcurrencyConflict
from complaintflow.engine.ports import Clock, Store, UnitOfWork

MAX_ATTEMPTS = 5
log = logging.getLogger(__name__)


@dataclass
class BatchProcessor:
    store: Store
    workflow: Workflow
    clock: Clock
    topics: Topics
    partition_of: Callable[[str], int]
    max_event_bytes: int = MAX_EVENT_BYTES
    max_outbound_bytes: int = MAX_OUTBOUND_BYTES

    def process(self, messages: Sequence[InboundMessage]) -> BatchChanges:
        decoded = decode_batch(messages, max_bytes=self.max_event_bytes)
        keys, ids, orders = addressed(decoded)

        def decided(uow: UnitOfWork) -> BatchChanges:
            aliases = uow.resolve_aliases(ids)
            open_orders = uow.open_orders(orders)
            targets = {aliases.get(i, i) for i in ids} | set(open_orders.values())
            complaints = uow.load(targets)
            subjects = precedent_subjects(decoded, aliases, complaints)
            context = BatchContext(
                seen=uow.seen(keys),
                aliases=aliases,
                complaints=complaints,
                open_orders=open_orders,
                precedents=uow.similar_cases(subjects, PRECEDENTS_PER_ASSIGNMENT)
                if subjects
                else {},
            )
            return decide_batch(decoded, context, **self._deciding())

        return self._write(decided)

    def dead_letter(self, message: InboundMessage, error: Exception) -> BatchChanges:
        """Refuse one message as `internal_error: <type>: <message>` of `error`, what broke
        every batch holding it outside its decision (loading, writing, committing), so that
        one bad event does not stall its partition. Its complaint is not read (reading it may
        be what raises); the inbox row turns a redelivery into a duplicate, and the dead
        letter keeps its bytes for a replay once the bug is fixed."""
        decoded = decode_batch([message], max_bytes=self.max_event_bytes)
        keys, ids, _ = addressed(decoded)

        def refused(uow: UnitOfWork) -> BatchChanges:
            context = BatchContext(
                seen=uow.seen(keys),
                aliases=uow.resolve_aliases(ids),
                complaints={},
                open_orders={},
            )
            return decide_batch(decoded, context, decide_event=_raising(error), **self._deciding())

        return self._write(refused)

    def probe(self) -> None:
        """Open a unit of work and roll it back: raises what a batch would meet while the
        database cannot take one (on SQLite it takes the write lock, which reads do not)."""
        with self.store.unit_of_work():
            pass

    def _deciding(self) -> dict[str, Any]:
        """What `decide_batch` needs besides the batch and what the store knew."""
        return {
            "workflow": self.workflow,
            "now": self.clock.now(),
            "topics": self.topics,
            "partition_of": self.partition_of,
            "max_outbound_bytes": self.max_outbound_bytes,
        }

    def _write(self, decided: Callable[[UnitOfWork], BatchChanges]) -> BatchChanges:
        """`decided` read and decided in one transaction, written and committed there."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self.store.unit_of_work() as uow:
                    changes = decided(uow)
                    uow.write(changes)
                    uow.commit()
                    _log_internal_errors(changes)
                    return changes
            except ConcurrencyConflict as exc:
                if attempt == MAX_ATTEMPTS:
                    raise
                log.info("batch conflicted with another worker (%s); deciding it again", exc)
        raise AssertionError("unreachable")


def _raising(error: Exception) -> Decide:
    """A decision that raises `error`, so the core refuses the event as it refuses one whose
    decision raised."""

    def decide_event(*_: object) -> Outcome:
        raise error

    return decide_event


def _log_internal_errors(changes: BatchChanges) -> None:
    """The dead letter holds one line of a decision that raised; where it raised, which the
    fix needs, goes to the log once the batch that refused the event is committed. The
    exception's message stays out of the log (it may quote the payload); the dead letter
    has it."""
    for event_id, exc in changes.internal_errors:
        where = "".join(traceback.format_tb(exc.__traceback__))
        log.error(
            "event %s was dead-lettered as internal_error (%s), raised at:\n%s",
            event_id,
            type(exc).__name__,
            where,
        )
