"""alerts: alerts (own and foreign), their state history, silences

Revision ID: alerts_0001
Revises: 0001_foundation
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "alerts_0001"
down_revision = "0001_foundation"
branch_labels = ("alerts",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("fingerprint", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("alertname", sa.String(255), nullable=False),
        sa.Column("service", sa.String(255), nullable=True),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("annotations", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.Column("active_at", UTCDateTime(), nullable=True),
        sa.Column("fired_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("keep_firing_until", UTCDateTime(), nullable=True),
        sa.Column("generator_url", sa.Text(), nullable=True),
        sa.Column("receiver", sa.String(255), nullable=True),
        sa.Column("suppressed_by", sa.String(255), nullable=True),
        sa.Column("acked_by", sa.String(80), nullable=True),
        sa.Column("acked_at", UTCDateTime(), nullable=True),
        sa.Column("rule_group", sa.String(255), nullable=True),
        sa.UniqueConstraint("source", "fingerprint", "starts_at", name="uq_alert_identity"),
    )
    op.create_index("ix_alert_state", "alert", ["state"])
    op.create_index("ix_alert_service", "alert", ["service"])
    op.create_index("ix_alert_starts_at", "alert", ["starts_at"])
    op.create_table(
        "alert_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "alert_id",
            sa.Integer(),
            sa.ForeignKey("alert.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_alert_event_alert_at", "alert_event", ["alert_id", "at"])
    op.create_table(
        "silence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("matchers", sa.Text(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expired_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_silence_ends_at", "silence", ["ends_at"])


def downgrade() -> None:
    op.drop_index("ix_silence_ends_at", table_name="silence")
    op.drop_table("silence")
    op.drop_index("ix_alert_event_alert_at", table_name="alert_event")
    op.drop_table("alert_event")
    op.drop_index("ix_alert_starts_at", table_name="alert")
    op.drop_index("ix_alert_service", table_name="alert")
    op.drop_index("ix_alert_state", table_name="alert")
    op.drop_table("alert")
