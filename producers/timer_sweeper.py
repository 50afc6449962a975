"""The timer sweeper: due timer rows become timer.fired events on complaints.inbound, keyed
by complaint id, so a timeout is decided in order with the complaint's other events, exactly
once (the event id is derived from complaint, key and due time, and the inbox dedupes).

APScheduler runs `sweep` every second in each worker, with its job kept in memory; the
timers' truth is the table, claimed with expiring leases.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from complaintflow.engine.core.events import timer_fired
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.errors import BrokerUnavailable
from complaintflow.engine.ports import Clock, DueTimers, Publisher

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=30)


@dataclass
class TimerSweeper:
    timers: DueTimers
    publisher: Publisher
    clock: Clock
    topics: Topics
    batch: int = 5000
    owner: str = field(default_factory=lambda: f"sweeper-{uuid.uuid4().hex[:8]}")
    fired: int = 0

    def sweep(self) -> int:
        """Publish every due, unclaimed timer; returns how many were published."""
        published = 0
        while True:
            now = self.clock.now()
            due = self.timers.claim_due(now, self.batch, self.owner, LEASE * _speed(self.clock))
            if not due:
                break
            messages = [
                (
                    self.topics.inbound,
                    t.complaint_id.encode(),
                    timer_fired(t.complaint_id, t.key, t.due_at).model_dump_json().encode(),
                )
                for t in due
            ]
            try:
                self.publisher.publish(messages)
            except BrokerUnavailable as exc:
                log.warning("timer sweeper: %s; the claims expire and the timers fire later", exc)
                break
            published += len(due)
            if len(due) < self.batch:
                break
        self.fired += published
        return published


def _speed(clock: Clock) -> float:
    """Leases are wall-clock durations; a scaled clock needs them scaled too."""
    return float(getattr(clock, "speed", 1.0))
