"""Tables of notification delivery: groups and their timers, queued notifications, attempts.

Everything the dispatcher decides is stored, so that a restarted (or second) worker carries on
without sending anything twice or forgetting a resolve:
- `notify_group`: one Alertmanager-style aggregation group per receiver and group key, with
  the time of its next flush;
- `notify_member`: which alerts belong to a group and what was last notified for each
  (firing / resolved), so a resolve always follows a notified firing;
- `notification`: a message built at flush time and queued for delivery, claimed by a worker
  with an atomic UPDATE;
- `notification_alert`: the alerts a notification carried (for the alert detail page);
- `notification_attempt`: every delivery attempt (time, status code, latency, error, permanent);
- `receiver_state`: the last outcome per receiver, shown on the receivers page.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime


class NotificationStatus(StrEnum):
    QUEUED = "queued"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by a worker until lease_until
    DELIVERED = "delivered"
    FAILED = "failed"  # given up: a permanent error, or out of attempts


class NotifiedState(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class NotifyGroup(SQLModel, table=True):
    __tablename__ = "notify_group"
    __table_args__ = (Index("ix_notify_group_next_flush_at", "next_flush_at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    receiver: str = Field(sa_column=Column(String(120), nullable=False))
    # sha256 of receiver + group key: a fixed-width unique key for insert-or-ignore
    group_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    group_key: str = Field(sa_column=Column(Text, nullable=False))
    group_labels: str = Field(sa_column=Column(Text, nullable=False))
    next_flush_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_flushed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_notified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class NotifyMember(SQLModel, table=True):
    __tablename__ = "notify_member"
    __table_args__ = (Index("ix_notify_member_alert_id", "alert_id"),)

    group_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("notify_group.id", ondelete="CASCADE"), primary_key=True
        )
    )
    alert_id: int = Field(
        sa_column=Column(Integer, ForeignKey("alert.id", ondelete="CASCADE"), primary_key=True)
    )
    notified_state: str | None = Field(default=None, sa_column=Column(String(16)))
    notified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_status_next", "status", "next_attempt_at"),
        Index("ix_notification_receiver_created", "receiver", "created_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    group_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("notify_group.id", ondelete="SET NULL")),
    )
    receiver: str = Field(sa_column=Column(String(120), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    summary: str = Field(sa_column=Column(String(255), nullable=False))
    is_test: bool = Field(sa_column=Column(Boolean, nullable=False))
    attempts: int = Field(sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class NotificationAlert(SQLModel, table=True):
    __tablename__ = "notification_alert"
    __table_args__ = (Index("ix_notification_alert_alert_id", "alert_id"),)

    notification_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("notification.id", ondelete="CASCADE"), primary_key=True
        )
    )
    alert_id: int = Field(
        sa_column=Column(Integer, ForeignKey("alert.id", ondelete="CASCADE"), primary_key=True)
    )
    sent_state: str = Field(sa_column=Column(String(16), nullable=False))


class NotificationAttempt(SQLModel, table=True):
    __tablename__ = "notification_attempt"
    __table_args__ = (
        Index("ix_notification_attempt_notification", "notification_id"),
        Index("ix_notification_attempt_receiver_at", "receiver", "attempted_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    notification_id: int = Field(
        sa_column=Column(Integer, ForeignKey("notification.id", ondelete="CASCADE"), nullable=False)
    )
    receiver: str = Field(sa_column=Column(String(120), nullable=False))
    attempted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status_code: int | None = Field(default=None, sa_column=Column(Integer))
    latency_ms: float = Field(sa_column=Column(Float, nullable=False))
    ok: bool = Field(sa_column=Column(Boolean, nullable=False))
    permanent: bool = Field(sa_column=Column(Boolean, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))


class ReceiverState(SQLModel, table=True):
    __tablename__ = "receiver_state"

    name: str = Field(sa_column=Column(String(120), primary_key=True))
    last_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_success_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_status_code: int | None = Field(default=None, sa_column=Column(Integer))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_permanent: bool = Field(sa_column=Column(Boolean, nullable=False))
    last_latency_ms: float | None = Field(default=None, sa_column=Column(Float))
    consecutive_failures: int = Field(sa_column=Column(Integer, nullable=False))
