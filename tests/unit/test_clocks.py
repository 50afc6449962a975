"""A complaint's SLA clocks rebuilt from its history for the console (pure): armed, met,
warned, breached, paused while the customer owes evidence, and drawn as SVG bars."""

from datetime import UTC, datetime, timedelta
from typing import Any

from complaintflow.engine.reporting.clocks import Clock, clocks
from complaintflow.engine.reporting.clocks_svg import clocks_svg

T = datetime(2025, 7, 14, 1, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def entry(type_: str, minutes: int, **payload: Any) -> tuple[str, datetime, dict[str, Any], str]:
    return (type_, T + minutes * M, payload, "")


HISTORY = [
    entry("complaint.received", 0),
    entry("complaint.graded", 0),
    entry("sla.warning", 2, deadline="first_response", due_at=(T + 3 * M).isoformat()),
    entry("sla.breached", 3, deadline="first_response", due_at=(T + 3 * M).isoformat()),
    entry("agent.responded", 5),
    entry("evidence.requested", 20, requested_from="customer"),
    entry("evidence.submitted", 50),
    entry("collaboration.requested", 60, department="tech"),
    entry("assignment.created", 60, department="tech", due_at=(T + 180 * M).isoformat()),
    entry("department.replied", 90, department="tech"),
    entry("complaint.resolved", 120),
]


def by_name(built: list[Clock]) -> dict[str, Clock]:
    return {c.name: c for c in built}


def test_each_deadline_is_a_clock_with_its_story() -> None:
    built = by_name(clocks(HISTORY, {"revisit": T + 600 * M}))
    first = built["first_response"]
    assert (first.start, first.due, first.end) == (T, T + 3 * M, T + 5 * M)
    assert (first.warned_at, first.breached_at, first.status) == (T + 2 * M, T + 3 * M, "breached")
    handling = built["handling"]
    assert handling.pauses == [(T + 20 * M, T + 50 * M)]
    assert (handling.end, handling.status) == (T + 120 * M, "met")
    tech = built["collaboration.tech"]
    assert (tech.start, tech.due, tech.end) == (T + 60 * M, T + 180 * M, T + 90 * M)
    assert tech.status == "met"
    assert built["evidence"].status == "met"
    revisit = built["revisit"]
    assert (revisit.start, revisit.due, revisit.status) == (T + 120 * M, T + 600 * M, "running")


def test_a_clock_waiting_on_the_customer_is_paused() -> None:
    built = by_name(clocks(HISTORY[:6], {}))
    assert built["handling"].status == "paused"
    assert built["handling"].pauses == [(T + 20 * M, None)]
    assert built["evidence"].status == "running"


def test_the_svg_draws_a_bar_per_clock_with_pauses_and_breach_ticks() -> None:
    svg = clocks_svg(clocks(HISTORY[:6], {}), T + 30 * M, UTC)
    assert svg.count('class="clock ') == 3
    assert svg.count('class="paused"') == 1
    assert svg.count('class="breached"') == 1
    assert svg.count('class="warned"') == 1
    assert "<script" not in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_no_clock_is_said_in_words() -> None:
    assert "No SLA clock" in clocks_svg([], T, UTC)


def test_a_department_wanting_evidence_pauses_the_clocks_and_a_reopen_restarts_handling() -> None:
    history = [
        entry("complaint.received", 0),
        entry("agent.responded", 2),
        entry("assignment.created", 10, department="tech", due_at=(T + 130 * M).isoformat()),
        entry("department.replied", 40, department="tech", outcome="needs_evidence"),
        entry("evidence.requested", 45, requested_from="customer"),  # already paused: one pause
        entry("evidence.submitted", 60),
        entry("complaint.resolved", 120),
    ]
    reopened = ("customer.revisited", T + 300 * M, {"reached": True, "csat": 1}, "responded")
    built = by_name(clocks([*history, reopened], {}))
    assert built["handling"].pauses == []  # the handling clock armed again at the reopen
    first_handling = next(c for c in clocks([*history, reopened], {}) if c.name == "handling")
    assert first_handling.pauses == [(T + 40 * M, T + 60 * M)]
    assert (first_handling.end, first_handling.status) == (T + 120 * M, "met")
    assert built["handling"].start == T + 300 * M
    assert built["revisit"].status == "met"
    assert built["collaboration.tech"].end == T + 40 * M
