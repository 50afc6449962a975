"""The KPI read model: one narrow row per complaint, department request, scored revisit answer
and (complaint, agent), which the batch transaction keeps up to date and the report
aggregates one table at a time. Filled from the complaints and history already stored by the
same fold the batch uses (state_store/kpi/read_model.py), in chunks of complaints; the
indexes are built after the fill: received_us for the report's period ranges, and the
first-response and department latencies in order for its percentiles.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from complaintflow.state_store.kpi.read_model import back_fill

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TABLES = ("kpi_complaints", "kpi_requests", "kpi_revisits", "kpi_agents")


def _counts(*names: str) -> list[sa.Column[int]]:
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "kpi_complaints",
        sa.Column("complaint_id", sa.String(length=64), nullable=False),
        sa.Column("received_us", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("first_response_ms", sa.BigInteger(), nullable=True),
        sa.Column("handling_ms", sa.BigInteger(), nullable=True),
        sa.Column("resolved_ever", sa.Boolean(), nullable=False),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("first_response_breached", sa.Boolean(), nullable=False),
        sa.Column("closed_loop", sa.Boolean(), nullable=True),
        *_counts("level_supervisor", "level_manager", "level_director"),
        *_counts(
            "cause_missing_evidence",
            "cause_disputed_responsibility",
            "cause_overdue",
            "cause_customer_request",
            "cause_other",
        ),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_kpi_complaints")),
    )
    op.create_table(
        "kpi_requests",
        sa.Column("complaint_id", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("received_us", sa.BigInteger(), nullable=False),
        sa.Column("asked_ms", sa.BigInteger(), nullable=False),
        sa.Column("due_ms", sa.BigInteger(), nullable=True),
        sa.Column("latency_ms", sa.BigInteger(), nullable=True),
        sa.Column("within", sa.Boolean(), nullable=False),
        sa.Column("awaiting", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "complaint_id", "department", "version", name=op.f("pk_kpi_requests")
        ),
    )
    op.create_table(
        "kpi_revisits",
        sa.Column("complaint_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("received_us", sa.BigInteger(), nullable=False),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("nps", sa.Integer(), nullable=True),
        sa.Column("revisited_ms", sa.BigInteger(), nullable=False),
        sa.Column("follow_up_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("complaint_id", "version", name=op.f("pk_kpi_revisits")),
    )
    op.create_table(
        "kpi_agents",
        sa.Column("complaint_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=128), nullable=False),
        sa.Column("received_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("complaint_id", "agent_id", name=op.f("pk_kpi_agents")),
    )
    back_fill(op.get_bind())
    for table in _TABLES:
        op.create_index(f"ix_{table}_received_us", table, ["received_us"])
    op.create_index(
        "ix_kpi_complaints_first_response", "kpi_complaints", ["first_response_ms", "received_us"]
    )
    op.create_index(
        "ix_kpi_requests_latency", "kpi_requests", ["department", "latency_ms", "received_us"]
    )


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table)
