"""The complaint state machine, built by `transitions` from a workflow definition.

One `Machine(model=None)` per workflow version validates the graph; the decision function
then reads it as a transition table, because resolving a trigger there costs a dict lookup
while attaching a model per event costs tens of microseconds.
"""

from dataclasses import dataclass

from transitions import Machine

from complaintflow.workflows.definition import WorkflowDefinition


@dataclass(frozen=True, slots=True)
class TransitionRule:
    dest: str
    conditions: tuple[str, ...]


TransitionTable = dict[tuple[str, str], tuple[TransitionRule, ...]]


def build_machine(definition: WorkflowDefinition) -> Machine:
    return Machine(
        model=None,
        states=definition.states,
        initial=definition.initial,
        transitions=[spec.model_dump() for spec in definition.transitions],
        auto_transitions=False,
        ignore_invalid_triggers=False,
    )


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
