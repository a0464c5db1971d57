"""feedback_sources: sources added on the settings page

Revision ID: feedback_sources_0002
Revises: feedback_sources_0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "feedback_sources_0002"
down_revision = "feedback_sources_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback_source",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(40), nullable=False, unique=True),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("feedback_source")
