"""The offline, deterministic twin of the Kafka loop: JSON lines through `decide`, in order.

Like the loop, it applies an event_id once (later copies count as duplicates). Event time
is the clock: each event is decided at its own occurred_at, and every timer that
comes due before it fires first, as the sweeper would have fired it. Complaints and merge
aliases live in memory and nothing is published, so what a workflow file does to a stream
can be checked before it is deployed.
"""

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.decision import decide
from complaintflow.engine.core.decoding import MAX_EVENT_BYTES, decode_event
from complaintflow.engine.core.events import ComplaintReceived, InboundEvent, LogEntry, timer_fired
from complaintflow.engine.core.outcome import Outcome, Refusal
from complaintflow.engine.core.workflow import Workflow


@dataclass(frozen=True)
class LineRefusal:
    line: int
    complaint_id: str | None
    reason: str


@dataclass
class ReplayResult:
    complaints: dict[str, Complaint] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    history: dict[str, list[LogEntry]] = field(default_factory=dict)
    refusals: list[LineRefusal] = field(default_factory=list)
    applied: int = 0
    timers_fired: int = 0
    duplicates: int = 0


@dataclass
class _Replayer:
    workflow: Workflow
    fire_timers: bool
    max_event_bytes: int
    result: ReplayResult = field(default_factory=ReplayResult)
    due: list[tuple[datetime, str, str]] = field(default_factory=list)
    by_order: dict[tuple[str, str], str] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def line(self, number: int, raw: bytes) -> None:
        event = decode_event(raw, max_bytes=self.max_event_bytes)
        if isinstance(event, Refusal):
            self.result.refusals.append(LineRefusal(number, None, event.reason))
            return
        if str(event.event_id) in self.seen:
            self.result.duplicates += 1
            return
        self.seen.add(str(event.event_id))
        self.fire_due(event.occurred_at)
        outcome = self.decide(event)
        if outcome.refusal is not None:
            self.result.refusals.append(
                LineRefusal(number, event.complaint_id, outcome.refusal.reason)
            )

    def fire_due(self, until: datetime) -> None:
        while self.fire_timers and self.due and self.due[0][0] <= until:
            due_at, complaint_id, key = heapq.heappop(self.due)
            if self.decide(timer_fired(complaint_id, key, due_at)).applied:
                self.result.timers_fired += 1

    def decide(self, event: InboundEvent) -> Outcome:
        result = self.result
        target = result.complaints.get(result.aliases.get(event.complaint_id, event.complaint_id))
        candidate = None
        if isinstance(event, ComplaintReceived) and event.payload.order_id is not None:
            found = self.by_order.get((event.payload.customer_id, event.payload.order_id))
            candidate = result.complaints.get(found) if found else None
        outcome = decide(target, event, event.occurred_at, self.workflow, candidate)
        complaint = outcome.complaint
        if complaint is None:
            return outcome
        result.applied += 1
        result.complaints[complaint.complaint_id] = complaint
        result.history.setdefault(complaint.complaint_id, []).extend(outcome.entries)
        if outcome.merged_from is not None:
            result.aliases[outcome.merged_from] = complaint.complaint_id
        if complaint.order_id is not None:
            self.by_order[(complaint.customer_id, complaint.order_id)] = complaint.complaint_id
        for timer in outcome.timers_set:
            heapq.heappush(self.due, (timer.due_at, complaint.complaint_id, timer.key))
        return outcome


def replay(
    lines: Iterable[bytes],
    workflow: Workflow,
    *,
    fire_timers: bool = True,
    until: datetime | None = None,
    max_event_bytes: int = MAX_EVENT_BYTES,
) -> ReplayResult:
    """Decide every non-blank line in order; with `fire_timers`, timers due before an event
    fire first (a stale one changes nothing). After the last event, timers due up to `until`
    fire too: the state a worker whose clock stands at `until` reaches. A line over
    `max_event_bytes` is refused unparsed, as the worker refuses such a message."""
    replayer = _Replayer(workflow, fire_timers, max_event_bytes)
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            replayer.line(number, raw.strip())
    if until is not None:
        replayer.fire_due(until)
    return replayer.result
