"""A realistic day of complaint traffic, for the demo, the replay example and benchmarks.

The mix follows the service-quality reports the engine replaces (refund disputes and
logistics lead; first responses hover around the 3-minute target; departments answer in
hours, logistics slowest), and it deliberately contains what production sees: the same event
published twice, one customer complaining on two channels, malformed lines, and events that
are not allowed in the complaint's state. Deterministic for a given seed.
"""

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

CATEGORIES = {
    "refund": 30,
    "logistics": 20,
    "service_attitude": 15,
    "description_mismatch": 10,
    "sizing": 10,
    "product_quality": 8,
    "installation": 4,
    "other": 3,
}
CHANNELS = {"app": 30, "web": 20, "phone": 20, "chat": 12, "social": 8, "email": 6, "store": 4}
DEPARTMENT_OF = {
    "refund": "finance",
    "logistics": "logistics",
    "service_attitude": "after_sales",
    "description_mismatch": "product",
    "sizing": "warehouse",
    "product_quality": "product",
    "installation": "tech",
    "other": "after_sales",
}
DEPARTMENT_HOURS = {
    "logistics": 3.2,
    "tech": 1.2,
    "finance": 2.0,
    "warehouse": 2.2,
    "product": 2.5,
    "after_sales": 1.0,
}
SHANGHAI = timezone(timedelta(hours=8))
DAY_START = datetime(2025, 7, 15, 8, 0, tzinfo=SHANGHAI)
# Every 16th complaint's customer threatens a regulator, the media or a court, or reports a
# hazard, as the service reports say a few in a hundred do; picked by number, not by the
# random generator, so a seed's day is otherwise unchanged.
ALARMING = [
    "再不处理我就打12315投诉",
    "I will take this to the consumer association",
    "我要找媒体曝光",
    "my lawyer will contact you",
    "充电时起火了",
    "the charger caught fire",
]
ALARM_EVERY = 16
MALFORMED = [
    b"this is not json",
    b"\xff\xfe\x00 not utf-8",
    b'{"event_id": "not-a-uuid", "type": "agent.responded"}',
    b"[1, 2, 3]",
]


@dataclass
class _Day:
    rng: random.Random
    start: datetime
    scripted_revisits: bool = True
    lines: list[tuple[datetime, int, bytes]] = field(default_factory=list)
    received_at: dict[str, datetime] = field(default_factory=dict)

    def pick(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def uuid(self) -> str:
        return str(UUID(int=self.rng.getrandbits(128), version=4))

    def emit(
        self, complaint_id: str, type_: str, at: datetime, payload: dict[str, Any], source: str
    ) -> bytes:
        envelope = {
            "event_id": self.uuid(),
            "type": type_,
            "complaint_id": complaint_id,
            "occurred_at": at.isoformat(),
            "source": source,
            "schema_version": 1,
            "payload": payload,
        }
        line = json.dumps(envelope, separators=(",", ":")).encode()
        self.lines.append((at, len(self.lines), line))
        return line

    def complaint(self, number: int) -> None:
        """One complaint's life: its events drawn in a fixed order from the seeded generator,
        so a seed always gives the same day."""
        rng = self.rng
        cid = f"C-{self.start:%Y%m%d}-{number:04d}"
        at = self.start + timedelta(minutes=rng.uniform(0, 12 * 60))
        category, channel = self.pick(CATEGORIES), self.pick(CHANNELS)
        at = self.receive(cid, at, category, channel, number)
        if rng.random() < 0.25:
            evidence_at = self.evidence(cid, at, channel)
            if evidence_at is None:
                return
            at = evidence_at
        if rng.random() < 0.35:
            at = self.collaboration(cid, at, category)
        if rng.random() < 0.06:
            self.emit(
                cid,
                "complaint.escalated",
                at,
                {"level": "supervisor", "cause": "customer_request"},
                "crm",
            )
        if rng.random() < 0.06:
            return
        at += timedelta(hours=rng.uniform(0.3, 5))
        self.emit(
            cid,
            "complaint.resolved",
            at,
            {"resolution": rng.choice(["refund", "replacement", "explanation", "compensation"])},
            "crm",
        )
        self.revisit(cid, at)

    def receive(self, cid: str, at: datetime, category: str, channel: str, number: int) -> datetime:
        """Received (sometimes again through another channel) and first responded to."""
        rng = self.rng
        customer, order = f"U{rng.randrange(10**6):06d}", f"O{rng.randrange(10**8):08d}"
        description = f"{category.replace('_', ' ')} problem with order {order}"
        if number % ALARM_EVERY == 0:
            description += f"; {ALARMING[number // ALARM_EVERY % len(ALARMING)]}"
        received = {
            "customer_id": customer,
            "channel": channel,
            "category": category,
            "description": description,
            "order_id": order,
            "customer_tier": "vip" if rng.random() < 0.1 else "regular",
        }
        if category in ("refund", "product_quality", "description_mismatch"):
            received["amount"] = f"{rng.uniform(20, 3000):.2f}"
        self.emit(cid, "complaint.received", at, received, channel)
        self.received_at[cid] = at
        if rng.random() < 0.04:
            other = self.pick({c: w for c, w in CHANNELS.items() if c != channel})
            self.emit(
                f"{cid}-X",
                "complaint.received",
                at + timedelta(minutes=rng.uniform(5, 90)),
                {**received, "channel": other},
                other,
            )
        at += timedelta(minutes=rng.expovariate(1 / 3.5))
        line = self.emit(
            cid,
            "agent.responded",
            at,
            {"agent_id": f"A{rng.randrange(40):02d}", "message": "We are on it."},
            "crm",
        )
        if rng.random() < 0.05:
            self.lines.append((at, len(self.lines), line))
        return at

    def evidence(self, cid: str, at: datetime, channel: str) -> datetime | None:
        """Evidence asked of the customer; None when it never comes."""
        rng = self.rng
        at += timedelta(minutes=rng.uniform(5, 60))
        self.emit(
            cid,
            "evidence.requested",
            at,
            {"items": ["photo of the item"], "requested_from": "customer"},
            "crm",
        )
        if rng.random() < 0.85:
            at += timedelta(hours=rng.uniform(0.5, 20))
            self.emit(cid, "evidence.submitted", at, {"items": ["photo.jpg"]}, channel)
            return at
        return None

    def collaboration(self, cid: str, at: datetime, category: str) -> datetime:
        """The category's department asked, and its reply."""
        rng = self.rng
        department = DEPARTMENT_OF[category]
        at += timedelta(minutes=rng.uniform(5, 30))
        self.emit(
            cid,
            "collaboration.requested",
            at,
            {"department": department, "question": "Who is responsible?"},
            "crm",
        )
        at += timedelta(hours=rng.expovariate(1 / DEPARTMENT_HOURS[department]))
        outcome = rng.choices(["accepted", "rejected"], weights=[88, 12])[0]
        self.emit(
            cid,
            "department.replied",
            at,
            {"department": department, "outcome": outcome, "responsible_party": department},
            department,
        )
        return at

    def revisit(self, cid: str, at: datetime) -> None:
        """Scripted revisit answers; without them (the demo) the demo's call-back service
        answers the engine's revisit requests instead."""
        if not self.scripted_revisits:
            return
        rng = self.rng
        for _ in range(3):
            at += timedelta(hours=rng.uniform(2, 20))
            if rng.random() < 0.15:
                self.emit(cid, "customer.revisited", at, {"reached": False}, "crm")
                continue
            csat = rng.choices([5, 4, 3, 2, 1], weights=[50, 28, 10, 7, 5])[0]
            self.emit(
                cid,
                "customer.revisited",
                at,
                {
                    "reached": True,
                    "satisfied": csat >= 3,
                    "csat": csat,
                    "nps": min(10, csat * 2 + rng.randrange(0, 2)),
                },
                "crm",
            )
            if csat < 3:
                at += timedelta(hours=rng.uniform(1, 4))
                self.emit(cid, "complaint.resolved", at, {"resolution": "compensation"}, "crm")
                continue
            return


def sample_day(
    complaints: int = 400,
    seed: int = 7,
    start: datetime = DAY_START,
    scripted_revisits: bool = True,
) -> list[bytes]:
    """JSON lines in publication order (by event time), including the faulty ones; the day's
    first complaints arrive at `start` (the demo starts it at its clock's now)."""
    day = _Day(random.Random(seed), start, scripted_revisits)
    for number in range(1, complaints + 1):
        day.complaint(number)
    for index, raw in enumerate(MALFORMED):
        day.lines.append((start + timedelta(hours=index + 1), len(day.lines), raw))
    day.emit(
        f"C-{start:%Y%m%d}-9999",
        "agent.responded",
        start + timedelta(hours=2),
        {"agent_id": "A01", "message": "for a complaint nobody received"},
        "crm",
    )
    first = f"C-{start:%Y%m%d}-0001"
    day.emit(
        first,
        "evidence.submitted",
        day.received_at[first] + timedelta(seconds=1),
        {"items": ["evidence nobody asked for"]},
        "crm",
    )
    return [line for _, _, line in sorted(day.lines, key=lambda item: (item[0], item[1]))]
