"""Precedent for a department: the closest resolved complaints put on the assignment.created
a batch records (as `similar`). The store finds them before the batch is decided, for the
complaints the batch may assign (`precedent_subjects`), so that deciding does no I/O."""

from collections.abc import Sequence
from dataclasses import replace

from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.events import (
    CollaborationRequested,
    ComplaintReceived,
    EvidenceSubmitted,
    InboundEvent,
)
from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.core.outcome import Outcome, Refusal
from complaintflow.engine.core.payloads import SimilarCase
from complaintflow.engine.core.vocabulary import Category, EventType

PRECEDENTS_PER_ASSIGNMENT = 3
Subject = tuple[Category, str, bool]  # category, description, already in the text index


def precedent_subjects(
    decoded: Sequence[tuple[InboundMessage, InboundEvent | Refusal]],
    aliases: dict[str, str],
    complaints: dict[str, Complaint],
) -> dict[str, Subject]:
    """(category, description, indexed) of each complaint the batch may assign to a
    department: a collaboration request, or evidence a department waits for. A stored
    complaint's description is in the text index already; one received in this same batch
    is described by its complaint.received and is not indexed yet."""
    received = {
        e.complaint_id: (e.payload.category, e.payload.description, False)
        for _, e in decoded
        if isinstance(e, ComplaintReceived)
    }
    subjects = {}
    for _, event in decoded:
        if not isinstance(event, CollaborationRequested | EvidenceSubmitted):
            continue
        target = aliases.get(event.complaint_id, event.complaint_id)
        known = complaints.get(target)
        if isinstance(event, EvidenceSubmitted) and (known is None or known.evidence_for is None):
            continue
        subject = (known.category, known.description, True) if known else received.get(target)
        if subject is not None and subject[1]:
            subjects[target] = subject
    return subjects


def with_precedents(outcome: Outcome, cases: tuple[SimilarCase, ...]) -> Outcome:
    """The outcome with `cases` on its assignment.created entries (as their `similar`)."""
    if not cases:
        return outcome
    similar = [case.model_dump(mode="json") for case in cases]
    entries = tuple(
        e.model_copy(update={"payload": {**e.payload, "similar": similar}})
        if e.type is EventType.ASSIGNMENT_CREATED
        else e
        for e in outcome.entries
    )
    return replace(outcome, entries=entries)
