"""Deciding a polled batch in memory: every message becomes changes for one transaction.

Pure: the caller loads what the batch needs (seen inbox keys, aliases, complaints, open
orders) and writes the returned `BatchChanges` in one transaction, then commits offsets.
Events for the same complaint in one batch chain through the working set in order.

One bad event never holds up the others: input over the size limit, an outcome whose message
the broker would refuse, and a decision that raises are each dead-lettered like any refusal,
with nothing of that event applied.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from complaintflow.engine.core.complaint import Complaint, Timer
from complaintflow.engine.core.decision import decide
from complaintflow.engine.core.decoding import MAX_EVENT_BYTES, decode_event
from complaintflow.engine.core.events import ComplaintReceived, InboundEvent, LogEntry, TimerFired
from complaintflow.engine.core.messages import (
    DeadLetter,
    InboundMessage,
    InboxEntry,
    OutboundMessage,
)
from complaintflow.engine.core.outcome import Outcome, Refusal, RefusalKind
from complaintflow.engine.core.payloads import SimilarCase
from complaintflow.engine.core.precedents import with_precedents
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow


@dataclass
class BatchChanges:
    """What one transaction writes. `loaded_versions` holds the version each complaint had
    when it was read (None for new ones): the optimistic-concurrency check."""

    loaded_versions: dict[str, int | None] = field(default_factory=dict)
    complaints: dict[str, Complaint] = field(default_factory=dict)
    inbox: list[InboxEntry] = field(default_factory=list)
    history: list[LogEntry] = field(default_factory=list)
    outbox: list[OutboundMessage] = field(default_factory=list)
    timers_set: dict[tuple[str, str], Timer] = field(default_factory=dict)
    timers_cancelled: set[tuple[str, str]] = field(default_factory=set)
    timers_fired: list[tuple[str, str, datetime]] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    # (customer, order) -> the open complaint now; `orders_read` keeps what the store said when
    # the batch read it, so the write can insist nobody changed it since (the merge race)
    open_orders: dict[tuple[str, str], tuple[str, datetime]] = field(default_factory=dict)
    closed_orders: dict[tuple[str, str], str] = field(default_factory=dict)
    orders_read: dict[tuple[str, str], str | None] = field(default_factory=dict)
    applied: int = 0
    refused: int = 0
    refusal_kinds: list[RefusalKind] = field(default_factory=list)
    duplicates: int = 0
    unchanged: int = 0
    # (event_id, what the decision raised) of each event refused as internal_error, to log
    internal_errors: list[tuple[str, Exception]] = field(default_factory=list)


@dataclass
class BatchContext:
    """What the store knew when the batch was read."""

    seen: set[str]
    aliases: dict[str, str]
    complaints: dict[str, Complaint]
    open_orders: dict[tuple[str, str], str]
    # complaint id -> its closest resolved complaints, for the assignments this batch creates
    precedents: dict[str, tuple[SimilarCase, ...]] = field(default_factory=dict)


Decoded = tuple[InboundMessage, InboundEvent | Refusal]
Decide = Callable[[Complaint | None, InboundEvent, datetime, Workflow, Complaint | None], Outcome]

# Kafka's default message.max.bytes is 1,048,588 including the record's overhead and key
MAX_OUTBOUND_BYTES = 1_000_000
MAX_ERROR_MESSAGE = 300


def decode_batch(
    messages: Sequence[InboundMessage], *, max_bytes: int = MAX_EVENT_BYTES
) -> list[Decoded]:
    return [(m, decode_event(m.value, max_bytes=max_bytes)) for m in messages]


def addressed(decoded: Sequence[Decoded]) -> tuple[set[str], set[str], set[tuple[str, str]]]:
    """What a batch needs loaded: inbox keys, complaint ids, and (customer, order) pairs."""
    keys, ids, orders = set(), set(), set()
    for message, event in decoded:
        if isinstance(event, Refusal):
            keys.add(message.position_key)
            continue
        keys.add(str(event.event_id))
        ids.add(event.complaint_id)
        if isinstance(event, ComplaintReceived) and event.payload.order_id is not None:
            orders.add((event.payload.customer_id, event.payload.order_id))
    return keys, ids, orders


def decide_batch(
    decoded: Sequence[Decoded],
    context: BatchContext,
    *,
    workflow: Workflow,
    now: datetime,
    topics: Topics,
    partition_of: Callable[[str], int],
    max_outbound_bytes: int = MAX_OUTBOUND_BYTES,
    decide_event: Decide = decide,
) -> BatchChanges:
    """Decide each decoded message in order, collecting the batch's changes.

    An event whose outcome holds a message over `max_outbound_bytes` is refused as too_large
    rather than written to an outbox the relay could never empty. `decide_event` is the
    decision; it is a parameter so that a test can make it fail on one event.
    """
    batch = _Batch(context, workflow, now, topics, partition_of, max_outbound_bytes, decide_event)
    for message, event in decoded:
        batch.take(message, event)
    return batch.changes


def target_id_of(event: InboundEvent, context: BatchContext) -> str:
    return context.aliases.get(event.complaint_id, event.complaint_id)


@dataclass(frozen=True)
class _Decided:
    outcome: Outcome
    outbound: list[OutboundMessage]


@dataclass
class _Batch:
    context: BatchContext
    workflow: Workflow
    now: datetime
    topics: Topics
    partition_of: Callable[[str], int]
    max_outbound_bytes: int
    decide_event: Decide
    changes: BatchChanges = field(default_factory=BatchChanges)

    def take(self, message: InboundMessage, event: InboundEvent | Refusal) -> None:
        if isinstance(event, Refusal):
            if self._first_time(message.position_key):
                self._dead_letter(message, event, message.position_key, None)
            return
        key = str(event.event_id)
        if not self._first_time(key):
            if isinstance(event, TimerFired):
                self._consume_firing(target_id_of(event, self.context), event)
            return
        ctx = self.context
        target_id = target_id_of(event, ctx)
        candidate = None
        if isinstance(event, ComplaintReceived) and event.payload.order_id is not None:
            found = ctx.open_orders.get((event.payload.customer_id, event.payload.order_id))
            candidate = ctx.complaints.get(found) if found else None
        decided = self._decide(ctx.complaints.get(target_id), event, candidate)
        if isinstance(event, TimerFired):
            self._consume_firing(target_id, event)
        if isinstance(decided, Refusal):
            self._dead_letter(message, decided, key, event.complaint_id)
        elif decided.outcome.complaint is None:
            self.changes.unchanged += 1
            self.changes.inbox.append(
                InboxEntry(key=key, complaint_id=target_id, outcome="unchanged")
            )
        else:
            self._apply(decided.outcome, decided.outcome.complaint, key, decided.outbound)

    def _decide(
        self, complaint: Complaint | None, event: InboundEvent, candidate: Complaint | None
    ) -> _Decided | Refusal:
        """The event's outcome and the messages it publishes, or why it is refused.

        A decision that raises is a bug met by this one event (a poison event): it becomes an
        internal_error refusal, so the rest of the batch, and the partition, go on. Nothing
        of a refused event reaches the working set, so later events see the complaint as
        it was.
        """
        try:
            outcome = self.decide_event(complaint, event, self.now, self.workflow, candidate)
            if outcome.refusal is not None:
                return outcome.refusal
            if outcome.complaint is None:
                return _Decided(outcome, [])
            cid = outcome.complaint.complaint_id
            outcome = with_precedents(outcome, self.context.precedents.get(cid, ()))
            outbound = self._outbound(cid, outcome.entries)
        except Exception as exc:
            self.changes.internal_errors.append((str(event.event_id), exc))
            text = str(exc)
            if len(text) > MAX_ERROR_MESSAGE:
                text = f"{text[:MAX_ERROR_MESSAGE]}..."
            return Refusal(
                kind=RefusalKind.INTERNAL_ERROR,
                reason=f"internal_error: {type(exc).__name__}: {text}",
            )
        return outbound if isinstance(outbound, Refusal) else _Decided(outcome, outbound)

    def _outbound(
        self, complaint_id: str, entries: Sequence[LogEntry]
    ) -> list[OutboundMessage] | Refusal:
        """Every message the entries publish, or too_large if one of them is over the broker's
        limit: such a row would block its partition's outbox for good."""
        partition, key = self.partition_of(complaint_id), complaint_id.encode()
        messages = []
        for entry in entries:
            value = entry.model_dump_json().encode()
            topics = self.topics.destinations(entry)
            if len(value) > self.max_outbound_bytes:
                return Refusal(
                    kind=RefusalKind.TOO_LARGE,
                    reason=f"too_large: its {entry.type} on {topics[0]} would be {len(value)} "
                    f"bytes, over the broker's limit of {self.max_outbound_bytes}",
                )
            messages += [
                OutboundMessage(partition=partition, topic=topic, key=key, value=value)
                for topic in topics
            ]
        return messages

    def _consume_firing(self, complaint_id: str, event: TimerFired) -> None:
        """A firing is consumed whatever it decided (also when it is a duplicate), so its row
        cannot come due again; a re-armed timer has another due_at and is kept."""
        self.changes.timers_fired.append((complaint_id, event.payload.key, event.payload.due_at))

    def _first_time(self, key: str) -> bool:
        if key in self.context.seen:
            self.changes.duplicates += 1
            return False
        self.context.seen.add(key)
        return True

    def _dead_letter(
        self, message: InboundMessage, refusal: Refusal, key: str, complaint_id: str | None
    ) -> None:
        changes = self.changes
        changes.refused += 1
        changes.refusal_kinds.append(refusal.kind)
        changes.inbox.append(InboxEntry(key=key, complaint_id=complaint_id, outcome="refused"))
        changes.outbox.append(
            OutboundMessage(
                partition=message.partition,
                topic=self.topics.dlq,
                key=message.key,
                value=DeadLetter.of(message, refusal.reason).model_dump_json().encode(),
            )
        )

    def _apply(
        self,
        outcome: Outcome,
        complaint: Complaint,
        key: str,
        outbound: Sequence[OutboundMessage],
    ) -> None:
        changes, ctx = self.changes, self.context
        cid = complaint.complaint_id
        if cid not in changes.loaded_versions:
            loaded = ctx.complaints.get(cid)
            changes.loaded_versions[cid] = None if loaded is None else loaded.version
        ctx.complaints[cid] = complaint
        changes.complaints[cid] = complaint
        changes.applied += 1
        changes.inbox.append(InboxEntry(key=key, complaint_id=cid, outcome="applied"))
        changes.history.extend(outcome.entries)
        changes.outbox.extend(outbound)
        for timer in outcome.timers_set:
            changes.timers_cancelled.discard((cid, timer.key))
            changes.timers_set[(cid, timer.key)] = timer
        for timer_key in outcome.timers_cancelled:
            changes.timers_set.pop((cid, timer_key), None)
            changes.timers_cancelled.add((cid, timer_key))
        if outcome.merged_from is not None:
            changes.aliases[outcome.merged_from] = cid
            ctx.aliases[outcome.merged_from] = cid
        self._track_order(complaint, created=changes.loaded_versions[cid] is None)

    def _track_order(self, complaint: Complaint, created: bool) -> None:
        """A new complaint claims its (customer, order); an archived one gives it up."""
        if complaint.order_id is None:
            return
        pair = (complaint.customer_id, complaint.order_id)
        if complaint.state in self.workflow.definition.final_states:
            if self.context.open_orders.get(pair) == complaint.complaint_id:
                del self.context.open_orders[pair]
            self.changes.open_orders.pop(pair, None)
            self.changes.closed_orders[pair] = complaint.complaint_id
        elif created:
            self.changes.orders_read.setdefault(pair, self.context.open_orders.get(pair))
            self.context.open_orders[pair] = complaint.complaint_id
            self.changes.open_orders[pair] = (complaint.complaint_id, complaint.received_at)
            self.changes.closed_orders.pop(pair, None)
