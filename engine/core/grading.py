"""Priority and routing of a new (or reopened) complaint, from the workflow's rules."""

from decimal import Decimal

from complaintflow.engine.core.vocabulary import (
    Category,
    Channel,
    CustomerTier,
    Department,
    Priority,
)
from complaintflow.workflows.definition import GradingRules, WorkflowDefinition


def grade(
    rules: GradingRules,
    *,
    category: Category,
    channel: Channel,
    tier: CustomerTier,
    amount: Decimal | None,
    repeat: bool,
) -> Priority:
    """Sum the points of the complaint's traits; the amount counts its highest band only."""
    points = (
        rules.category_points.get(category, 0)
        + rules.channel_points.get(channel, 0)
        + rules.tier_points.get(tier, 0)
        + (rules.repeat_points if repeat else 0)
    )
    if amount is not None:
        points += max(
            (band.points for band in rules.amount_points if amount >= band.at_least), default=0
        )
    for priority in (Priority.P1, Priority.P2, Priority.P3):
        threshold = rules.thresholds.get(priority.value)  # type: ignore[call-overload]
        if threshold is not None and points >= threshold:
            return priority
    return Priority.P4


def route(definition: WorkflowDefinition, category: Category) -> Department:
    return definition.routing[category]
