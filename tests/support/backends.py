"""The store-side ports built over one database, in memory or SQLAlchemy, for the contract
suites (tests/contract) to run the very same tests on each."""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from complaintflow.engine.ports import DueTimers, Outbox, Store, TrendStore
from complaintflow.engine.service.clock import FixedClock
from complaintflow.state_store.history import complaint_history
from complaintflow.state_store.outbox_store import SqlAlchemyOutbox
from complaintflow.state_store.timer_store import SqlAlchemyTimers
from complaintflow.state_store.trend_store import SqlAlchemyTrends
from complaintflow.state_store.unit_of_work import SqlAlchemyStore
from tests.support.fakes import FakeDueTimers, FakeOutbox, FakeStore, FakeTrendStore

HistoryRow = tuple[int, str, str, datetime]
"""(version, type, state, occurred_at) of one history entry."""


@dataclass(frozen=True)
class Backend:
    store: Store
    outbox: Outbox
    timers: DueTimers
    trends: TrendStore
    history: Callable[[str], list[HistoryRow]]
    """A complaint's history in version order: no port reads it, each backend shows it."""


def fake_backend(clock: FixedClock, closed_states: Collection[str]) -> Backend:
    store = FakeStore(clock)
    return Backend(
        store=store,
        outbox=FakeOutbox(store),
        timers=FakeDueTimers(store),
        trends=FakeTrendStore(store, closed_states),
        history=lambda cid: [
            (e.version, e.type.value, e.state, e.occurred_at) for e in store.history(cid)
        ],
    )


def sql_backend(engine: Engine, clock: FixedClock, closed_states: Collection[str]) -> Backend:
    return Backend(
        store=SqlAlchemyStore(engine, clock),
        outbox=SqlAlchemyOutbox(engine),
        timers=SqlAlchemyTimers(engine),
        trends=SqlAlchemyTrends(engine, closed_states),
        history=lambda cid: [
            (r.version, r.type, r.state, r.occurred_at) for r in complaint_history(engine, cid)
        ],
    )
