"""The complaint state machine, built by `transitions` from a workflow definition.

One `Machine(model=None)` per workflow version validates the graph; the decision function
then reads it as a transition table, because resolving a trigger there costs a dict lookup
while attaching a model per event costs tens of microseconds. A `GraphMachine` built the same
way draws the workflow for people.
"""

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from transitions import Machine
from transitions.extensions.diagrams import GraphMachine

from complaintflow.workflows.definition import WorkflowDefinition


@dataclass(frozen=True, slots=True)
class TransitionRule:
    dest: str
    conditions: tuple[str, ...]


TransitionTable = dict[tuple[str, str], tuple[TransitionRule, ...]]
M = TypeVar("M", bound=Machine)


def _machine(machine_class: type[M], definition: WorkflowDefinition, **options: Any) -> M:
    """The one place a definition becomes a machine, so the diagram cannot drift from the table."""
    return machine_class(
        model=None,
        states=definition.states,
        initial=definition.initial,
        transitions=[spec.model_dump() for spec in definition.transitions],
        auto_transitions=False,
        ignore_invalid_triggers=False,
        **options,
    )


def build_machine(definition: WorkflowDefinition) -> Machine:
    return _machine(Machine, definition)


def mermaid_diagram(definition: WorkflowDefinition) -> str:
    """The machine as transitions' Mermaid state diagram: text, so it needs no graphviz and can
    live in the README, where a test compares it with this output.

    The graph is drawn without a model, so no state is styled as the current one. transitions
    writes the title line verbatim into Mermaid's YAML front matter, hence `title:` and a JSON
    (so YAML) string. Trailing blanks are stripped because editors strip them from the README.
    """
    machine = _machine(
        GraphMachine,
        definition,
        graph_engine="mermaid",
        show_conditions=True,
        title="title: " + json.dumps(f"{definition.name} v{definition.version}"),
    )
    source = machine.graph_cls(machine).get_graph().draw(None)
    assert source is not None  # draw(None) returns the text instead of writing a file
    return "".join(line.rstrip() + "\n" for line in source.splitlines())


def transition_table(machine: Machine) -> TransitionTable:
    """(state, trigger) -> candidate transitions in definition order (first passing one wins)."""
    table: TransitionTable = {}
    for trigger, event in machine.events.items():
        for source, transitions in event.transitions.items():
            table[(source, trigger)] = tuple(
                TransitionRule(
                    dest=source if t.dest is None else t.dest,
                    conditions=tuple(str(c.func) for c in t.conditions),
                )
                for t in transitions
            )
    return table
