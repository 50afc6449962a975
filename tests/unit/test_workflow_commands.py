"""`complaintflow workflow check` and `diagram`, run in-process through the console-script
entry point, so exit statuses and one-line errors are the ones a user sees."""

import re
import sys
from importlib import resources
from pathlib import Path

import pytest

from complaintflow.engine.entrypoints.cli.main import main
from complaintflow.workflows.definition import SAME_STATE
from complaintflow.workflows.loading import read_definition

BUILT_IN = Path(str(resources.files("complaintflow.workflows").joinpath("default.toml")))
README = Path(__file__).parents[2] / "README.md"
DEFINITION = read_definition()


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str | Path
) -> tuple[int | str | None, str, str]:
    monkeypatch.setattr(sys, "argv", ["complaintflow", *map(str, args)])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def test_check_lists_every_state_and_transition_of_the_built_in_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(monkeypatch, capsys, "workflow", "check", BUILT_IN)

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "workflow 'default' version 1: ok"
    # Every state in file order, the initial and the final one marked.
    marks = {"received": " (initial)", "archived": " (final)"}
    assert lines[1] == "states (8):"
    assert lines[2:10] == [f"  {state}{marks.get(state, '')}" for state in DEFINITION.states]
    # Every (trigger, source) of the file, "=" read as the source itself; the rules for one
    # state and trigger in the order they are tried.
    expected = [
        f"  {spec.trigger}: {source} -> {source if spec.dest == SAME_STATE else spec.dest}"
        + (f" [{', '.join(spec.conditions)}]" if spec.conditions else "")
        for spec in DEFINITION.transitions
        for source in spec.source
    ]
    listed = [line for line in lines if ": " in line and " -> " in line]
    assert sorted(listed) == sorted(expected)
    assert listed.index(
        "  department.replied: collaboration -> evidence [department_is_open, reply_needs_evidence]"
    ) < listed.index("  department.replied: collaboration -> responded [department_is_open]")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('dest = "resolved"', 'dest = "solved"', "unknown dest state 'solved'"),
        ('conditions = ["not_reached"]', 'conditions = ["moon_is_full"]', "moon_is_full"),
    ],
)
def test_check_of_a_broken_file_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    old: str,
    new: str,
    message: str,
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(BUILT_IN.read_text("utf-8").replace(old, new, 1), "utf-8")

    code, out, err = run(monkeypatch, capsys, "workflow", "check", broken)

    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("complaintflow: ")
    assert message in err


def test_diagram_draws_every_state_and_every_trigger(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(monkeypatch, capsys, "workflow", "diagram")

    assert (code, err) == (0, "")
    assert "stateDiagram-v2" in out and "  [*] --> received\n" in out
    for state in DEFINITION.states:
        assert f'  state "{state}" as {state}\n' in out
    edges = [line for line in out.splitlines() if " --> " in line and "[*]" not in line]
    drawn = {
        label.split(" [")[0] for line in edges for label in line.split(": ", 1)[1].split(" | ")
    }
    assert drawn == {spec.trigger for spec in DEFINITION.transitions}
    # The same bytes again, and the same as naming the built-in file.
    assert run(monkeypatch, capsys, "workflow", "diagram")[1] == out
    assert run(monkeypatch, capsys, "workflow", "diagram", BUILT_IN)[1] == out


def test_diagram_draws_the_file_it_is_given(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    renamed = tmp_path / "renamed.toml"
    renamed.write_text(
        BUILT_IN.read_text("utf-8")
        .replace('name = "default"', 'name = "renamed"')
        .replace('trigger = "complaint.archived"', 'trigger = "complaint.closed"'),
        "utf-8",
    )

    code, out, _ = run(monkeypatch, capsys, "workflow", "diagram", renamed)

    assert code == 0
    assert 'title: "renamed v1"' in out
    assert "revisited --> archived: complaint.closed\n" in out
    assert "complaint.archived" not in out


def test_the_readme_shows_the_diagram_the_command_prints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = re.findall(r"^```mermaid\n(.*?)^```$", README.read_text("utf-8"), re.M | re.S)
    assert len(blocks) == 1, "README.md should have exactly one ```mermaid block"

    _, printed, _ = run(monkeypatch, capsys, "workflow", "diagram")

    assert blocks[0] == printed, (
        "README.md's workflow diagram is stale: replace the ```mermaid block's body with the "
        "output of `complaintflow workflow diagram`"
    )
