"""Priority and routing of a new (or reopened) complaint, from the workflow's rules, with the
reasons that raised it (`complaint.graded` carries them, so an agent sees why a complaint is
P1 and ops can count how often the complaint's own words did it)."""

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from complaintflow.engine.core.vocabulary import (
    Category,
    Channel,
    CustomerTier,
    Department,
    Priority,
)
from complaintflow.workflows.definition import GradingRules, WorkflowDefinition

KEYWORD_REASON = "keyword:"


@dataclass(frozen=True, slots=True)
class Grade:
    priority: Priority
    reasons: tuple[str, ...]


def fold(text: str) -> str:
    """Full-width letters and digits as their ASCII forms (full-width 12315 is 12315), then
    case."""
    return unicodedata.normalize("NFKC", text).casefold()


@lru_cache(maxsize=4096)
def _matcher(term: str) -> tuple[str, re.Pattern[str]]:
    """The folded term, and how it matches: a term made of ASCII letters and digits matches
    as a whole word ("sue" is not found in "issue"); any other term (Chinese has no spaces
    between words) matches anywhere."""
    folded = fold(term)
    if term.isascii() and term.replace(" ", "").isalnum():
        return folded, re.compile(rf"(?<![a-z0-9]){re.escape(folded)}(?![a-z0-9])")
    return folded, re.compile(re.escape(folded))


def found_term(terms: list[str], folded_text: str) -> str | None:
    """The first of `terms` (in the rule's order) that the folded text mentions.

    Most descriptions mention none of the terms, so a plain substring test (which every
    match passes) rules a term out before its pattern is run."""
    for term in terms:
        folded, pattern = _matcher(term)
        if folded in folded_text and pattern.search(folded_text):
            return term
    return None


def grade(
    rules: GradingRules,
    *,
    category: Category,
    channel: Channel,
    tier: CustomerTier,
    amount: Decimal | None,
    repeat: bool,
    description: str = "",
) -> Grade:
    """Sum the points of the complaint's traits; the amount counts its highest band only, and
    each keyword rule counts once, however many of its terms the description holds."""
    scored: list[tuple[str, int]] = [
        (f"category:{category.value}", rules.category_points.get(category, 0)),
        (f"channel:{channel.value}", rules.channel_points.get(channel, 0)),
        (f"tier:{tier.value}", rules.tier_points.get(tier, 0)),
        ("repeat", rules.repeat_points if repeat else 0),
    ]
    if amount is not None:
        band = max(
            (b for b in rules.amount_points if amount >= b.at_least),
            key=lambda b: b.points,
            default=None,
        )
        if band is not None:
            scored.append((f"amount:>={band.at_least}", band.points))
    folded = fold(description)
    for rule in rules.keyword_points:
        if (term := found_term(rule.terms, folded)) is not None:
            scored.append((f"{KEYWORD_REASON}{term}", rule.points))
    points = sum(p for _, p in scored)
    reasons = tuple(reason for reason, p in scored if p > 0)
    for priority in (Priority.P1, Priority.P2, Priority.P3):
        threshold = rules.thresholds.get(priority.value)  # type: ignore[call-overload]
        if threshold is not None and points >= threshold:
            return Grade(priority, reasons)
    return Grade(Priority.P4, reasons)


def route(definition: WorkflowDefinition, category: Category) -> Department:
    return definition.routing[category]
