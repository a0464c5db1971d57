"""notify: notification groups, members, queued notifications, attempts, receiver state

Revision ID: notify_0001
Revises: 0001_foundation
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "notify_0001"
down_revision = "0001_foundation"
branch_labels = ("notify",)
depends_on = ("alerts_0001",)


def upgrade() -> None:
    op.create_table(
        "notify_group",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("receiver", sa.String(120), nullable=False),
        sa.Column("group_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("group_key", sa.Text(), nullable=False),
        sa.Column("group_labels", sa.Text(), nullable=False),
        sa.Column("next_flush_at", UTCDateTime(), nullable=True),
        sa.Column("last_flushed_at", UTCDateTime(), nullable=True),
        sa.Column("last_notified_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_notify_group_next_flush_at", "notify_group", ["next_flush_at"])
    op.create_table(
        "notify_member",
        sa.Column(
            "group_id",
            sa.Integer(),
            sa.ForeignKey("notify_group.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "alert_id",
            sa.Integer(),
            sa.ForeignKey("alert.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("notified_state", sa.String(16), nullable=True),
        sa.Column("notified_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_notify_member_alert_id", "notify_member", ["alert_id"])
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "group_id",
            sa.Integer(),
            sa.ForeignKey("notify_group.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("receiver", sa.String(120), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("summary", sa.String(255), nullable=False),
        sa.Column("is_test", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_notification_status_next", "notification", ["status", "next_attempt_at"])
    op.create_index("ix_notification_receiver_created", "notification", ["receiver", "created_at"])
    op.create_table(
        "notification_alert",
        sa.Column(
            "notification_id",
            sa.Integer(),
            sa.ForeignKey("notification.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "alert_id",
            sa.Integer(),
            sa.ForeignKey("alert.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("sent_state", sa.String(16), nullable=False),
    )
    op.create_index("ix_notification_alert_alert_id", "notification_alert", ["alert_id"])
    op.create_table(
        "notification_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "notification_id",
            sa.Integer(),
            sa.ForeignKey("notification.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("receiver", sa.String(120), nullable=False),
        sa.Column("attempted_at", UTCDateTime(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("permanent", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_notification_attempt_notification", "notification_attempt", ["notification_id"]
    )
    op.create_index(
        "ix_notification_attempt_receiver_at", "notification_attempt", ["receiver", "attempted_at"]
    )
    op.create_table(
        "receiver_state",
        sa.Column("name", sa.String(120), primary_key=True),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_success_at", UTCDateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_permanent", sa.Boolean(), nullable=False),
        sa.Column("last_latency_ms", sa.Float(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("receiver_state")
    op.drop_table("notification_attempt")
    op.drop_table("notification_alert")
    op.drop_table("notification")
    op.drop_table("notify_member")
    op.drop_table("notify_group")
