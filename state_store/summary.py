"""Small read-only counts for the demo's closing summary and for tests' waits."""

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from complaintflow.state_store.database import READ_ONLY
from complaintflow.state_store.tables import aliases_t, complaints_t, history_t, inbox_t, outbox_t


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
