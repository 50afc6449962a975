"""The tables as SQLAlchemy Core handles, for the queries of every store module, and how
long lists are cut for IN clauses."""

from collections.abc import Collection, Iterator
from typing import TypeVar, cast

from sqlalchemy import Table

from complaintflow.state_store.models import (
    AliasRow,
    ComplaintRow,
    HistoryRow,
    InboxRow,
    KpiAgentRow,
    KpiComplaintRow,
    KpiRequestRow,
    KpiRevisitRow,
    OpenOrderRow,
    OutboxRow,
    TimerRow,
)

CHUNK = 500
"""Keys per IN list: well under every backend's limit on bound parameters."""
T = TypeVar("T")

complaints_t = cast(Table, ComplaintRow.__table__)
history_t = cast(Table, HistoryRow.__table__)
inbox_t = cast(Table, InboxRow.__table__)
outbox_t = cast(Table, OutboxRow.__table__)
timers_t = cast(Table, TimerRow.__table__)
aliases_t = cast(Table, AliasRow.__table__)
open_orders_t = cast(Table, OpenOrderRow.__table__)
kpi_complaints_t = cast(Table, KpiComplaintRow.__table__)
kpi_requests_t = cast(Table, KpiRequestRow.__table__)
kpi_revisits_t = cast(Table, KpiRevisitRow.__table__)
kpi_agents_t = cast(Table, KpiAgentRow.__table__)


def chunks(items: Collection[T], size: int = CHUNK) -> Iterator[list[T]]:
    ordered = list(items)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]
