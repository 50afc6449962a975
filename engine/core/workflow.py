"""A workflow ready for decisions: definition, transition table, calendars, checked guards."""

from dataclasses import dataclass

from complaintflow.engine.core.business_time import BusinessCalendar
from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.events import Envelope
from complaintflow.engine.core.guards import GUARDS
from complaintflow.engine.core.outcome import Refusal, RefusalKind
from complaintflow.engine.errors import WorkflowError
from complaintflow.workflows.definition import WorkflowDefinition
from complaintflow.workflows.machine import TransitionTable, build_machine, transition_table


@dataclass(frozen=True)
class Workflow:
    definition: WorkflowDefinition
    table: TransitionTable
    calendars: dict[str, BusinessCalendar]

    @property
    def version(self) -> int:
        return self.definition.version

    def calendar(self, name: str) -> BusinessCalendar:
        return self.calendars[name]

    def next_state(self, complaint: Complaint, trigger: str, event: Envelope) -> str | Refusal:
        """The first transition for (state, trigger) whose guards hold, else why not."""
        rules = self.table.get((complaint.state, trigger))
        if not rules:
            return Refusal(
                kind=RefusalKind.NOT_ALLOWED_IN_STATE,
                reason=f"{trigger} not allowed in state {complaint.state}",
            )
        failed = ""
        for rule in rules:
            failing = next(
                (c for c in rule.conditions if not GUARDS[c].holds(complaint, event)), None
            )
            if failing is None:
                return rule.dest
            failed = GUARDS[failing].refusal
        return Refusal(
            kind=RefusalKind.NOT_ALLOWED_IN_STATE,
            reason=f"{trigger} not allowed in state {complaint.state}: {failed}",
        )


def compile_workflow(definition: WorkflowDefinition) -> Workflow:
    """Build the machine with `transitions` and refuse guards the engine does not know."""
    unknown = sorted(
        {c for spec in definition.transitions for c in spec.conditions} - GUARDS.keys()
    )
    if unknown:
        raise WorkflowError(
            f"workflow {definition.name!r}: unknown conditions {', '.join(unknown)}; "
            f"known: {', '.join(sorted(GUARDS))}"
        )
    table = transition_table(build_machine(definition))
    calendars = {name: BusinessCalendar(spec) for name, spec in definition.calendars.items()}
    return Workflow(definition=definition, table=table, calendars=calendars)
