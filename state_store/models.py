"""The store's tables. The complaint row keeps the whole aggregate as JSON text (the decision
function's input) beside indexed columns for lookups and reports; history is the event log,
one row per version; inbox, outbox and timers make processing effectively-once."""

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(UTC)


def _sqlite_text(value: datetime | None) -> str | None:
    """'YYYY-MM-DD HH:MM:SS.ffffff' in UTC, as SQLAlchemy's SQLite DATETIME stores it."""
    if value is None:
        return None
    return _utc_text(_as_utc(value))


@lru_cache(maxsize=4096)
def _utc_text(value: datetime) -> str:
    """Cached: a batch binds the same instants many times (its `now` on every row it writes,
    an event's time on its history row and its complaint), and formatting one took 1.8 us
    against 0.08 us to look it up. Keyed by the UTC instant only: two local times of one zone
    compare and hash by their wall time, so the two 02:30s of a night the clocks go back
    would share an entry."""
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def described_by_models(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name`: everything but the text index of similar cases, which the
    models do not describe (an FTS5 virtual table and its shadow tables on SQLite, a table
    with a pg_trgm index on PostgreSQL; migration 0003 creates it, plain SQL reads it)."""
    return not (type_ == "table" and name is not None and name.startswith("complaint_text"))


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware in and out on every backend (SQLite keeps no offset): stored as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        """On SQLite, the dialect's DATETIME text in one step: the composed processor (this
        class, then the dialect's %-formatting) was a tenth of a batch's time. SQLAlchemy
        advises against replacing it; tests/unit/test_store_types.py holds the two equal."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_text

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
    }


class ComplaintRow(Base):
    __tablename__ = "complaints"

    complaint_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer)
    workflow_version: Mapped[int] = mapped_column(Integer)
    priority: Mapped[str] = mapped_column(String(2))
    department: Mapped[str] = mapped_column(String(32))
    escalation_level: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    channels: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[str] = mapped_column(String(128))
    order_id: Mapped[str | None] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(index=True)
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    overdue: Mapped[bool] = mapped_column(Boolean)
    reopen_count: Mapped[int] = mapped_column(Integer)
    aggregate: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_complaints_customer_order", "customer_id", "order_id"),
        Index("ix_complaints_order_id", "order_id"),  # the console's search by order
    )


class HistoryRow(Base):
    __tablename__ = "history"

    complaint_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(40), index=True)
    state: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]]
    recorded_at: Mapped[datetime]


class InboxRow(Base):
    """Processed inputs. The key is the event_id, or topic:partition:offset for input that
    had no readable event_id, so a redelivered bad message is not dead-lettered twice."""

    __tablename__ = "inbox"

    message_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    complaint_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    processed_at: Mapped[datetime] = mapped_column(index=True)  # the console's "today"


class OutboxRow(Base):
    """Messages to publish. `partition` is the inbound partition of the complaint: the worker
    that owns that partition publishes the row, so one complaint has one publisher at a time."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    partition: Mapped[int] = mapped_column(Integer)
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[bytes | None] = mapped_column(LargeBinary)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "ix_outbox_unsent",
            "partition",
            "id",
            sqlite_where=text("sent_at IS NULL"),
            postgresql_where=text("sent_at IS NULL"),
        ),
    )


class TimerRow(Base):
    """A pending timer, written in the transaction that set it; claimed by one sweeper at a
    time with an expiring claim."""

    __tablename__ = "timers"

    complaint_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(index=True)
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))


class AliasRow(Base):
    """A complaint id that was merged into another complaint."""

    __tablename__ = "aliases"

    merged_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(String(64))


class OpenOrderRow(Base):
    """One open complaint per (customer, order): the database, not memory, decides a merge
    race between two workers."""

    __tablename__ = "open_orders"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]


class WorkerMetricRow(Base):
    """A worker's own figures (events applied, refusals by reason, batch latency buckets), one
    row per sample, replaced by that worker every few seconds: what only the worker knows,
    kept where `complaintflow serve` can read it. `labels` is canonical JSON text."""

    __tablename__ = "worker_metrics"

    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    labels: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(index=True)


class TrendAlertRow(Base):
    """A trend alert raised for one period. The primary key is the alert's deterministic event
    id: a re-run or a second worker that finds the same spike in the same period collides on
    it, and so the alert reaches the outbox (and complaints.alerts) once."""

    __tablename__ = "trend_alerts"

    alert_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[datetime]
    raised_at: Mapped[datetime] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]]


class KpiComplaintRow(Base):
    """The KPI read model (engine/reporting/read_model.py): one narrow row per complaint,
    written in the batch's transaction, so the report scans this instead of the aggregates
    and the log. Times are integers: received in microseconds, durations in milliseconds."""

    __tablename__ = "kpi_complaints"

    complaint_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_us: Mapped[int] = mapped_column(BigInteger, index=True)
    category: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(200))
    first_response_ms: Mapped[int | None] = mapped_column(BigInteger)
    handling_ms: Mapped[int | None] = mapped_column(BigInteger)
    resolved_ever: Mapped[bool] = mapped_column(Boolean)
    reopened: Mapped[bool] = mapped_column(Boolean)
    overdue: Mapped[bool] = mapped_column(Boolean)
    first_response_breached: Mapped[bool] = mapped_column(Boolean)
    closed_loop: Mapped[bool | None] = mapped_column(Boolean)
    level_supervisor: Mapped[int] = mapped_column(Integer)
    level_manager: Mapped[int] = mapped_column(Integer)
    level_director: Mapped[int] = mapped_column(Integer)
    cause_missing_evidence: Mapped[int] = mapped_column(Integer)
    cause_disputed_responsibility: Mapped[int] = mapped_column(Integer)
    cause_overdue: Mapped[int] = mapped_column(Integer)
    cause_customer_request: Mapped[int] = mapped_column(Integer)
    cause_other: Mapped[int] = mapped_column(Integer)

    # the percentiles step through it to the rank (state_store/kpi/sql.py), in the period too
    __table_args__ = (
        Index("ix_kpi_complaints_first_response", "first_response_ms", "received_us"),
    )


class KpiRequestRow(Base):
    """One department request of the read model; `received_us` is its complaint's, so the
    report's period is a range on this table alone."""

    __tablename__ = "kpi_requests"

    complaint_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # in the key, so a reply's update finds its request by the key's first two columns (the
    # latency index, which starts with the department, is no rival for it then)
    department: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_us: Mapped[int] = mapped_column(BigInteger, index=True)
    asked_ms: Mapped[int] = mapped_column(BigInteger)
    due_ms: Mapped[int | None] = mapped_column(BigInteger)
    latency_ms: Mapped[int | None] = mapped_column(BigInteger)
    within: Mapped[bool] = mapped_column(Boolean)
    awaiting: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_kpi_requests_latency", "department", "latency_ms", "received_us"),)


class KpiRevisitRow(Base):
    """One scored revisit answer of the read model."""

    __tablename__ = "kpi_revisits"

    complaint_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_us: Mapped[int] = mapped_column(BigInteger, index=True)
    csat: Mapped[int | None] = mapped_column(Integer)
    nps: Mapped[int | None] = mapped_column(Integer)
    revisited_ms: Mapped[int] = mapped_column(BigInteger)
    follow_up_ms: Mapped[int | None] = mapped_column(BigInteger)


class KpiAgentRow(Base):
    """An agent who answered a complaint, once per pair, for the agents' distinct loads."""

    __tablename__ = "kpi_agents"

    complaint_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_us: Mapped[int] = mapped_column(BigInteger, index=True)
