"""feedback_sources: themes, merge decisions, source polling state, webhook events

Revision ID: feedback_sources_0001
Revises: 0001_foundation
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "feedback_sources_0001"
down_revision = "0001_foundation"
branch_labels = ("feedback_sources",)
depends_on = ("feedback_0001",)


def upgrade() -> None:
    op.create_table(
        "theme",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("top_terms", sa.Text(), nullable=False),
        sa.Column("term_counts", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(120), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column(
            "merged_into_id",
            sa.Integer(),
            sa.ForeignKey("theme.id", ondelete="SET NULL"),
            nullable=True,
        ),
    )
    op.create_index("ix_theme_updated_at", "theme", ["updated_at"])
    op.create_index("ix_theme_merged_into_id", "theme", ["merged_into_id"])
    op.create_table(
        "theme_merge",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "theme_id", sa.Integer(), sa.ForeignKey("theme.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "other_theme_id",
            sa.Integer(),
            sa.ForeignKey("theme.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(80), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("theme_id", "other_theme_id", name="uq_theme_merge_pair"),
    )
    op.create_index("ix_theme_merge_status", "theme_merge", ["status"])
    op.create_table(
        "source_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(80), nullable=False, unique=True),
        sa.Column("high_water_mark", sa.String(255), nullable=True),
        sa.Column("backfill_cursor", sa.String(255), nullable=True),
        sa.Column("backfill_floor", sa.String(255), nullable=True),
        sa.Column("etag", sa.String(255), nullable=True),
        sa.Column("last_modified", sa.String(64), nullable=True),
        sa.Column("last_poll_at", UTCDateTime(), nullable=True),
        sa.Column("last_success_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("retry_after_until", UTCDateTime(), nullable=True),
        sa.Column("items_total", sa.Integer(), nullable=False),
    )
    op.create_table(
        "webhook_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(80), nullable=False),
        sa.Column("event_id", sa.String(120), nullable=False),
        sa.Column("event_type", sa.String(80), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("source", "event_id", name="uq_webhook_event_source_id"),
    )


def downgrade() -> None:
    op.drop_table("webhook_event")
    op.drop_table("source_state")
    op.drop_table("theme_merge")
    op.drop_index("ix_theme_merged_into_id", table_name="theme")
    op.drop_index("ix_theme_updated_at", table_name="theme")
    op.drop_table("theme")
