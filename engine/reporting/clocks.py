"""A complaint's SLA clocks as an ops lead reads them: one bar per deadline, from when it
was armed to when it was met (or now), with its due time, when it warned and breached, and
the stretches it stood paused while the customer owed evidence. Rebuilt from the history
(pure: entries in, bars out), with the live deadlines' due times from the aggregate."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PAUSING = ("first_response", "handling")  # the clocks the customer's silence stops


@dataclass
class Clock:
    name: str  # first_response, handling, evidence, revisit, collaboration.<department>
    start: datetime
    due: datetime | None = None
    end: datetime | None = None
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    pauses: list[tuple[datetime, datetime | None]] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.breached_at is not None:
            return "breached"
        if self.end is not None:
            return "met"
        if self.pauses and self.pauses[-1][1] is None:
            return "paused"
        return "warned" if self.warned_at is not None else "running"


Entry = tuple[str, datetime, Mapping[str, Any], str]  # (type, occurred_at, payload, state)


def clocks(entries: Iterable[Entry], live_due: Mapping[str, datetime | None]) -> list[Clock]:
    """The clocks of a complaint's history in order of arming; `live_due` gives the due time
    of each deadline still running (by its key in the aggregate)."""
    built = _Clocks()
    for type_, at, payload, state in entries:
        built.take(type_, at, payload, state)
    for clock in built.all:
        if clock.end is None and clock.due is None:
            clock.due = live_due.get(clock.name)
    return built.all


@dataclass
class _Clocks:
    all: list[Clock] = field(default_factory=list)
    open: dict[str, Clock] = field(default_factory=dict)

    def arm(self, name: str, at: datetime, due: datetime | None = None) -> None:
        self.close(name, at)
        clock = Clock(name, at, due)
        self.all.append(clock)
        self.open[name] = clock

    def close(self, name: str, at: datetime) -> None:
        clock = self.open.pop(name, None)
        if clock is not None:
            clock.end = at
            self._resume(clock, at)

    def take(self, type_: str, at: datetime, payload: Mapping[str, Any], state: str) -> None:
        """`state`: the complaint's state once the entry was applied (a revisit that
        reopens it leaves it in "responded")."""
        match type_:
            case "complaint.received":
                self.arm("first_response", at)
                self.arm("handling", at)
            case "complaint.reopened":
                self.close("revisit", at)
                self.arm("handling", at)
            case "agent.responded":
                self.close("first_response", at)
            case "evidence.requested":
                self.arm("evidence", at)
                if payload.get("requested_from") == "customer":
                    self._pause(at)
            case "department.replied" if payload.get("outcome") == "needs_evidence":
                self.close(f"collaboration.{payload.get('department')}", at)
                self.arm("evidence", at)
                self._pause(at)
            case "evidence.submitted":
                self.close("evidence", at)
                for name in PAUSING:
                    if name in self.open:
                        self._resume(self.open[name], at)
            case "assignment.created":
                due = payload.get("due_at")
                self.arm(f"collaboration.{payload.get('department')}", at, _moment(due))
            case "department.replied":
                self.close(f"collaboration.{payload.get('department')}", at)
            case "complaint.resolved":
                for name in [n for n in self.open if n != "revisit"]:
                    self.close(name, at)
                self.arm("revisit", at)
            case "customer.revisited" if payload.get("reached"):
                self.close("revisit", at)
                if state == "responded":  # an unhappy customer reopened it
                    self.arm("handling", at)
            case "complaint.archived":
                for name in list(self.open):
                    self.close(name, at)
            case "sla.warning" | "sla.breached":
                self._passed(type_, at, payload)

    def _passed(self, type_: str, at: datetime, payload: Mapping[str, Any]) -> None:
        name = str(payload.get("deadline"))
        if name == "collaboration":
            name = f"collaboration.{payload.get('department')}"
        clock = self.open.get(name) or next((c for c in reversed(self.all) if c.name == name), None)
        if clock is None:
            return
        clock.due = _moment(payload.get("due_at")) or clock.due
        if type_ == "sla.warning":
            clock.warned_at = at
        else:
            clock.breached_at = at

    def _pause(self, at: datetime) -> None:
        for name in PAUSING:
            clock = self.open.get(name)
            if clock is not None and not (clock.pauses and clock.pauses[-1][1] is None):
                clock.pauses.append((at, None))

    @staticmethod
    def _resume(clock: Clock, at: datetime) -> None:
        if clock.pauses and clock.pauses[-1][1] is None:
            clock.pauses[-1] = (clock.pauses[-1][0], at)


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value) if isinstance(value, str) else None
