"""An index on complaints.order_id, for the console's search by order id (customer ids are
the first column of ix_complaints_customer_order already).

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


def downgrade() -> None:
    op.drop_index("ix_complaints_order_id", table_name="complaints")
