"""Small read-only counts for the demo's closing summary and for tests' waits."""

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from complaintflow.engine.core.complaint import REVISIT_REQUEST
from complaintflow.engine.core.grading import KEYWORD_REASON
from complaintflow.state_store.database import READ_ONLY
from complaintflow.state_store.tables import (
    aliases_t,
    complaints_t,
    history_t,
    inbox_t,
    outbox_t,
    timers_t,
)


@dataclass(frozen=True)
class StoreSummary:
    by_state: dict[str, int]
    inbox: dict[str, int]
    history_rows: int
    escalations: int
    breaches: int
    merged: int
    outbox_backlog: int

    @property
    def processed(self) -> int:
        return sum(self.inbox.values())


def summarize(engine: Engine) -> StoreSummary:
    with engine.connect().execution_options(**READ_ONLY) as c:
        by_state: dict[str, int] = dict(
            c.execute(
                select(complaints_t.c.state, func.count()).group_by(complaints_t.c.state)
            ).all()
        )
        inbox: dict[str, int] = dict(
            c.execute(select(inbox_t.c.outcome, func.count()).group_by(inbox_t.c.outcome)).all()
        )
        by_type: dict[str, int] = dict(
            c.execute(select(history_t.c.type, func.count()).group_by(history_t.c.type)).all()
        )
        return StoreSummary(
            by_state=by_state,
            inbox=inbox,
            history_rows=sum(by_type.values()),
            escalations=by_type.get("complaint.escalated", 0),
            breaches=by_type.get("sla.breached", 0),
            merged=c.scalar(select(func.count()).select_from(aliases_t)) or 0,
            outbox_backlog=c.scalar(
                select(func.count()).select_from(outbox_t).where(outbox_t.c.sent_at.is_(None))
            )
            or 0,
        )


@dataclass(frozen=True)
class DeskSummary:
    """The demo's closing lines on revisits and grading by words."""

    revisit_requests: tuple[str, ...]  # their event ids
    revisit_answers: int
    customers_reached: int
    requests_pending: int
    graded_by_keyword: dict[str, int]  # term -> complaints whose description held it
    keyword_complaints: int  # complaints with at least one keyword reason


def desk_summary(engine: Engine, answered_by: str) -> DeskSummary:
    """Revisit requests sent, answers from `answered_by` applied (and how many reached the
    customer), request timers still pending, and complaints graded up by each term."""
    with engine.connect().execution_options(**READ_ONLY) as c:
        graded = c.execute(
            select(history_t.c.complaint_id, history_t.c.payload).where(
                history_t.c.type == "complaint.graded"
            )
        ).all()
        answers = list(
            c.scalars(
                select(history_t.c.payload).where(
                    history_t.c.type == "customer.revisited", history_t.c.source == answered_by
                )
            )
        )
        requests = tuple(
            c.scalars(select(history_t.c.event_id).where(history_t.c.type == "revisit.requested"))
        )
        pending = c.scalar(
            select(func.count()).select_from(timers_t).where(timers_t.c.key == REVISIT_REQUEST)
        )
    terms: dict[str, set[str]] = {}
    for complaint_id, payload in graded:
        for reason in payload.get("reasons", ()):
            if reason.startswith(KEYWORD_REASON):
                terms.setdefault(reason.removeprefix(KEYWORD_REASON), set()).add(complaint_id)
    return DeskSummary(
        revisit_requests=requests,
        revisit_answers=len(answers),
        customers_reached=sum(1 for payload in answers if payload.get("reached")),
        requests_pending=pending or 0,
        graded_by_keyword={term: len(ids) for term, ids in sorted(terms.items())},
        keyword_complaints=len(set().union(*terms.values())),
    )
