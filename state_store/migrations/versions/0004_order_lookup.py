"""Indexes for the ops console: complaints.order_id for its search by order id (customer
ids are the first column of ix_complaints_customer_order already), inbox.processed_at for
its dead letters today; and on PostgreSQL a GiST trigram
index on complaint_text, whose nearest-first scan (`<->`) finds similar cases without
reading every description that shares a few trigrams.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 10:00:00.000000
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_complaints_order_id", "complaints", ["order_id"])
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"])
    if op.get_bind().dialect.name != "sqlite":
        op.execute(
            "CREATE INDEX ix_complaint_text_trgm_gist ON complaint_text "
            "USING gist (description gist_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP INDEX ix_complaint_text_trgm_gist")
    op.drop_index("ix_inbox_processed_at", table_name="inbox")
    op.drop_index("ix_complaints_order_id", table_name="complaints")
