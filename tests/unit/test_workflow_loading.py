"""Workflow files are validated on load, and each mistake is named in one line."""

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from complaintflow.engine.bootstrap import load_workflow
from complaintflow.engine.errors import WorkflowError

DEFAULT = resources.files("complaintflow.workflows").joinpath("default.toml").read_text("utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "workflow.toml"
    path.write_text(text, "utf-8")
    return path


def test_the_built_in_workflow_loads_with_a_version() -> None:
    workflow = load_workflow()
    assert workflow.version == 1
    assert workflow.definition.states[0] == "received"
    assert ("graded", "agent.responded") in workflow.table


def test_a_copy_of_the_built_in_file_loads_from_a_path(tmp_path: Path) -> None:
    assert load_workflow(write(tmp_path, DEFAULT)).definition == load_workflow().definition


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('dest = "resolved"', 'dest = "solved"', "unknown dest state 'solved'"),
        (
            'source = ["responded", "evidence", "collaboration"]\ndest = "resolved"',
            'source = ["responded", "evdience", "collaboration"]\ndest = "resolved"',
            "unknown source state 'evdience'",
        ),
        ('P1 = "2h"', 'P1 = "2 hours"', "deadlines.handling.P1: '2 hours' is not a duration"),
        ('calendar = "cn_business"\nP1', 'calendar = "nine_to_five"\nP1', "unknown calendar"),
        ("warning_fraction = 0.8", "warning_fraction = 1.5", "warning_fraction"),
        ('conditions = ["not_reached"]', 'conditions = ["moon_is_full"]', "moon_is_full"),
        ('installation = "tech"', "", "no department for categories installation"),
        (
            'timezone = "Asia/Shanghai"\nholidays',
            'timezone = "Asia/Nowhere"\nholidays',
            "Asia/Nowhere",
        ),
        ("version = 1", 'version = "one"', "version"),
    ],
)
def test_mistakes_are_refused_with_a_reason(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in DEFAULT
    path = write(tmp_path, DEFAULT.replace(old, new, 1))
    with pytest.raises(WorkflowError) as caught:
        load_workflow(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_not_toml_is_refused_with_the_position(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match=r"not valid TOML: .*line 2"):
        load_workflow(write(tmp_path, 'name = "x"\nversion = = 1\n'))


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="no such file"):
        load_workflow(tmp_path / "absent.toml")


def test_the_default_file_is_plain_toml() -> None:
    assert tomllib.loads(DEFAULT)["name"] == "default"
