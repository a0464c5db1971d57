"""Tables of the alerts package: alerts (own and foreign), their state history, silences."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime
from core.db import canonical_json as canonical_json  # alerts/ingest.py imports it from here


class AlertSource(StrEnum):
    """Where an alert comes from: opsloop's own rules, or a foreign system's webhook."""

    OWN = "own"
    ALERTMANAGER = "alertmanager"
    GRAFANA = "grafana"


class AlertState(StrEnum):
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class Alert(SQLModel, table=True):
    """One alert occurrence: identity is (source, fingerprint of the labels, starts_at)."""

    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("source", "fingerprint", "starts_at", name="uq_alert_identity"),
        Index("ix_alert_state", "state"),
        Index("ix_alert_service", "service"),
        Index("ix_alert_starts_at", "starts_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    fingerprint: str = Field(sa_column=Column(String(16), nullable=False))
    source: str = Field(sa_column=Column(String(16), nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    alertname: str = Field(sa_column=Column(String(255), nullable=False))
    service: str | None = Field(default=None, sa_column=Column(String(255)))
    labels: str = Field(sa_column=Column(Text, nullable=False))
    annotations: str = Field(sa_column=Column(Text, nullable=False))
    value: float | None = Field(default=None, sa_column=Column(Float))
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ends_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    active_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    fired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    keep_firing_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    generator_url: str | None = Field(default=None, sa_column=Column(Text))
    receiver: str | None = Field(default=None, sa_column=Column(String(255)))
    # "silence:<id>", "maintenance:<name>" or "parent:<service>"
    suppressed_by: str | None = Field(default=None, sa_column=Column(String(255)))
    acked_by: str | None = Field(default=None, sa_column=Column(String(80)))
    acked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    rule_group: str | None = Field(default=None, sa_column=Column(String(255)))

    @property
    def label_map(self) -> dict[str, str]:
        data: dict[str, str] = json.loads(self.labels)
        return data

    @property
    def annotation_map(self) -> dict[str, str]:
        data: dict[str, str] = json.loads(self.annotations)
        return data


class AlertEvent(SQLModel, table=True):
    """One state change of an alert (from_state is None for the first)."""

    __tablename__ = "alert_event"
    __table_args__ = (Index("ix_alert_event_alert_at", "alert_id", "at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    alert_id: int = Field(
        sa_column=Column(Integer, ForeignKey("alert.id", ondelete="CASCADE"), nullable=False)
    )
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    from_state: str | None = Field(default=None, sa_column=Column(String(16)))
    to_state: str = Field(sa_column=Column(String(16), nullable=False))
    value: float | None = Field(default=None, sa_column=Column(Float))
    note: str | None = Field(default=None, sa_column=Column(Text))


class Silence(SQLModel, table=True):
    """Mutes alerts whose labels match every matcher between starts_at and ends_at."""

    __tablename__ = "silence"
    __table_args__ = (Index("ix_silence_ends_at", "ends_at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    # JSON list of {"name", "value", "isRegex", "isEqual"}, as in Alertmanager's API v2
    matchers: str = Field(sa_column=Column(Text, nullable=False))
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ends_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str = Field(sa_column=Column(String(80), nullable=False))
    comment: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))

    @property
    def matcher_list(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads(self.matchers)
        return data
