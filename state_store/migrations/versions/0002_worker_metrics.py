"""Worker metrics (figures only a worker knows, for `complaintflow serve`) and trend alerts
(one row per alert and period: the unique key that makes an alert go out once).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import complaintflow.state_store.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_metrics",
        sa.Column("worker_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("labels", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column(
            "updated_at",
            complaintflow.state_store.models.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("worker_id", "name", "labels", name=op.f("pk_worker_metrics")),
    )
    with op.batch_alter_table("worker_metrics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_worker_metrics_updated_at"), ["updated_at"], unique=False
        )

    op.create_table(
        "trend_alerts",
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column(
            "period_start",
            complaintflow.state_store.models.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "raised_at",
            complaintflow.state_store.models.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_trend_alerts")),
    )
    with op.batch_alter_table("trend_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trend_alerts_raised_at"), ["raised_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trend_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trend_alerts_raised_at"))
    op.drop_table("trend_alerts")
    with op.batch_alter_table("worker_metrics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_worker_metrics_updated_at"))
    op.drop_table("worker_metrics")
