"""The text index of complaints' descriptions, for similar resolved cases: an FTS5 table with
the trigram tokenizer (and its vocabulary, for the query's rarest trigrams) on SQLite; a
table with a pg_trgm GIN index on PostgreSQL. Filled from the complaints already stored
(their complaint.received's description); the batch transaction keeps it up to date.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 09:00:00.000000
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_FILL = """
INSERT INTO complaint_text (complaint_id, category, description)
SELECT c.complaint_id, c.category, {description}
FROM complaints c
JOIN history h ON h.complaint_id = c.complaint_id AND h.version = 1
WHERE h.type = 'complaint.received' AND {description} IS NOT NULL
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE complaint_text USING fts5("
            "complaint_id UNINDEXED, category UNINDEXED, description, tokenize = 'trigram')"
        )
        op.execute(
            "CREATE VIRTUAL TABLE complaint_text_terms USING fts5vocab(complaint_text, 'row')"
        )
        op.execute(_FILL.format(description="json_extract(h.payload, '$.description')"))
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE TABLE complaint_text ("
        "complaint_id VARCHAR(64) PRIMARY KEY, category VARCHAR(32) NOT NULL, "
        "description TEXT NOT NULL)"
    )
    op.execute(
        "CREATE INDEX ix_complaint_text_trgm ON complaint_text USING gin (description gin_trgm_ops)"
    )
    op.execute(_FILL.format(description="(h.payload ->> 'description')"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE complaint_text_terms")
    op.execute("DROP TABLE complaint_text")
