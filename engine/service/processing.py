"""One polled batch, effectively once: read what it addresses, decide it in memory, write
everything in one transaction. The caller commits Kafka offsets only after this returns.

A conflict with another worker (same complaint, inbox key or order, e.g. during a rebalance)
rolls the transaction back; the batch is then decided again from fresh state, where the
inbox turns what the other worker already applied into duplicates.
"""

import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from complaintflow.engine.core.batch import (
    MAX_OUTBOUND_BYTES,
    BatchChanges,
    BatchContext,
    InboundMessage,
    addressed,
    decide_batch,
    decode_batch,
)
from complaintflow.engine.core.decoding import MAX_EVENT_BYTES
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.errors import ConcurrencyConflict
from complaintflow.engine.ports import Clock, Store

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
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self.store.unit_of_work() as uow:
                    aliases = uow.resolve_aliases(ids)
                    open_orders = uow.open_orders(orders)
                    targets = {aliases.get(i, i) for i in ids} | set(open_orders.values())
                    context = BatchContext(
                        seen=uow.seen(keys),
                        aliases=aliases,
                        complaints=uow.load(targets),
                        open_orders=open_orders,
                    )
                    changes = decide_batch(
                        decoded,
                        context,
                        workflow=self.workflow,
                        now=self.clock.now(),
                        topics=self.topics,
                        partition_of=self.partition_of,
                        max_outbound_bytes=self.max_outbound_bytes,
                    )
                    uow.write(changes)
                    uow.commit()
                    _log_internal_errors(changes)
                    return changes
            except ConcurrencyConflict as exc:
                if attempt == MAX_ATTEMPTS:
                    raise
                log.info("batch conflicted with another worker (%s); deciding it again", exc)
        raise AssertionError("unreachable")


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
