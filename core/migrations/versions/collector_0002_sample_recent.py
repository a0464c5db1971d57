"""collector: sample_recent, the time-ordered landing table of scraped samples

Revision ID: collector_0002
Revises: collector_0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "collector_0002"
down_revision = "collector_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sample_recent",
        sa.Column(
            "series_id",
            sa.Integer(),
            sa.ForeignKey("series.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("ts_ms", "series_id", name="pk_sample_recent"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("sample_recent")
