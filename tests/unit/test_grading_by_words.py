"""Grading by the complaint's words: the workflow's keyword rules add points for terms in the
description (case-insensitive, Chinese and English), and `complaint.graded` names every rule
that added points, so a threat to call 12315 or a fire does not wait in P3."""

from datetime import timedelta

import pytest

from complaintflow.engine.core.grading import Grade, grade
from complaintflow.engine.core.vocabulary import Category, Channel, CustomerTier, Priority
from complaintflow.engine.core.workflow import Workflow
from complaintflow.workflows.definition import GradingRules
from tests.support.builders import MONDAY_9, Story

QUIET = {
    "customer_id": "U2",
    "channel": "web",
    "category": "sizing",
    "description": "too small",
    "order_id": "O2",
}


def quiet_sizing(rules: GradingRules, description: str) -> Grade:
    """A regular customer's sizing complaint on the web, graded by `rules` alone."""
    return grade(
        rules,
        category=Category.SIZING,
        channel=Channel.WEB,
        tier=CustomerTier.REGULAR,
        amount=None,
        repeat=False,
        description=description,
    )


def graded(workflow: Workflow, description: str) -> dict[str, object]:
    story = Story(workflow)
    outcome = story.apply("complaint.received", MONDAY_9, {**QUIET, "description": description})
    return outcome.entries[1].payload


@pytest.mark.parametrize(
    ("description", "term"),
    [
        ("尺码不对，再不处理我就打12315投诉", "12315"),
        ("我已经联系了消费者协会", "消费者协会"),
        ("我要找媒体曝光你们", "找媒体"),
        ("再不处理我就打１２３１５", "12315"),
        ("已经请了律师，准备起诉", "律师"),
        ("充电器起火了", "起火"),
        ("My lawyer will be in touch", "lawyer"),
        ("I will SUE you", "sue"),
        ("the heater caught Fire last night", "fire"),
        ("I am calling the Press", "the press"),
        ("my lawyers will be in touch", "lawyers"),
    ],
)
def test_the_same_complaint_with_a_threat_or_hazard_lands_on_a_higher_priority(
    workflow: Workflow, description: str, term: str
) -> None:
    plain = graded(workflow, "too small")
    alarming = graded(workflow, description)
    assert plain["priority"] == "P4"
    assert plain["reasons"] == []
    assert alarming["priority"] in ("P1", "P2")
    assert f"keyword:{term}" in alarming["reasons"]  # type: ignore[operator]


@pytest.mark.parametrize(
    "description",
    [
        "there is an issue with the zip",
        "pressed the button",
        "the courtroom drama",
        "退款请退到工商银行卡",
        "照片曝光过度",
        "多媒体播放器没有声音",
        "the social media ad said otherwise",
    ],
)
def test_an_english_term_matches_as_a_whole_word_only(workflow: Workflow, description: str) -> None:
    assert graded(workflow, description) == {
        "priority": "P4",
        "department": "warehouse",
        "reasons": [],
    }


def test_a_rule_counts_once_however_many_of_its_terms_appear() -> None:
    rules = GradingRules.model_validate(
        {
            "thresholds": {"P1": 6, "P2": 4, "P3": 2},
            "keyword_points": [{"name": "legal", "points": 4, "terms": ["lawyer", "court"]}],
        }
    )
    result = quiet_sizing(rules, "my lawyer will see you in court")
    assert (result.priority, result.reasons) == (Priority.P2, ("keyword:lawyer",))


def test_every_trait_that_added_points_is_a_reason(workflow: Workflow) -> None:
    payload = graded(workflow, "I will go to the media")
    story = Story(workflow)
    vip = story.apply(
        "complaint.received",
        MONDAY_9,
        {
            **QUIET,
            "channel": "social",
            "customer_tier": "vip",
            "category": "refund",
            "amount": "600",
            "description": "记者已经联系我了",
        },
    )
    assert payload["reasons"] == ["keyword:the media"]
    assert vip.entries[1].payload["reasons"] == [
        "category:refund",
        "channel:social",
        "tier:vip",
        "amount:>=500",
        "keyword:记者",
    ]


def test_a_reopened_complaint_is_regraded_by_its_words_too(workflow: Workflow) -> None:
    story = Story(workflow)
    story.apply("complaint.received", MONDAY_9, {**QUIET, "description": "I will sue"})
    story.apply("agent.responded", MONDAY_9 + timedelta(minutes=2))
    story.apply("complaint.resolved", MONDAY_9 + timedelta(hours=1))
    reopened = story.apply("complaint.reopened", MONDAY_9 + timedelta(hours=2))
    regraded = [e for e in reopened.entries if e.type == "complaint.graded"]
    assert regraded[0].payload["reasons"] == ["repeat", "keyword:sue"]
    assert regraded[0].payload["priority"] == "P1"


def test_a_workflow_without_keyword_rules_grades_as_before(workflow: Workflow) -> None:
    rules = workflow.definition.grading.model_copy(update={"keyword_points": []})
    result = quiet_sizing(rules, "12315 lawyer fire")
    assert (result.priority, result.reasons) == (Priority.P4, ())
