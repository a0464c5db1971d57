"""Tables of the plan package: items, their evidence, deploys and export links.

Evidence points at other areas' rows loosely (`kind` + `ref_id`), without foreign keys, so
that the plan tables stand alone and an alert or feedback purge never breaks an item.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime


class ItemKind(StrEnum):
    INCIDENT = "incident"
    RELIABILITY = "reliability"
    BUG = "bug"
    FEATURE = "feature"
    TASK = "task"


class ItemStatus(StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    RELEASED = "released"
    VERIFIED = "verified"
    REGRESSED = "regressed"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


# Items that automatic triage must not reopen or feed: a person or the verifier closed them.
CLOSED_STATUSES = frozenset({ItemStatus.VERIFIED, ItemStatus.DECLINED})


class EvidenceKind(StrEnum):
    ALERT = "alert"
    SLO_BURN = "slo_burn"
    FEEDBACK = "feedback"
    SURVEY = "survey"
    DEPLOY = "deploy"


class ExportTarget(StrEnum):
    GITHUB = "github"
    JIRA = "jira"
    WEBHOOK = "webhook"


class Deploy(SQLModel, table=True):
    """A deploy marker posted by CI: one version of one service, at a time."""

    __tablename__ = "deploy"
    __table_args__ = (
        # Identity is service + version + time: a rollback to an older version is a deploy
        # of its own. CI retries (same version, `at` omitted so it differs) are matched to
        # the nearest deploy by plan.deploys; this constraint stops exact repeats.
        UniqueConstraint("service", "version", "at", name="uq_deploy_service_version_at"),
        Index("ix_deploy_service_at", "service", "at"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    service: str = Field(sa_column=Column(String(120), nullable=False))
    version: str = Field(sa_column=Column(String(120), nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    url: str | None = Field(default=None, sa_column=Column(String(2048)))
    items: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of ids
    regression_flag: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    regression_note: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

    @property
    def item_ids(self) -> list[int]:
        data: list[int] = json.loads(self.items)
        return data


class Item(SQLModel, table=True):
    """A backlog item: what to do, why (its evidence), and how it is ranked."""

    __tablename__ = "item"
    __table_args__ = (
        Index("ix_item_status", "status"),
        Index("ix_item_service", "service"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    service: str | None = Field(default=None, sa_column=Column(String(120)))
    status: str = Field(default=ItemStatus.NEW.value, sa_column=Column(String(16), nullable=False))
    score: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    score_breakdown: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    effort: float | None = Field(default=None, sa_column=Column(Float))
    public: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    votes: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    # What opened it automatically ("alert:<service>:<alertname>", "slo:<service>:<slo>",
    # "theme:<id>"); unique so that two triage runs can never open it twice.
    origin_key: str | None = Field(default=None, sa_column=Column(String(255), unique=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    released_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    released_in: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("deploy.id", ondelete="SET NULL"))
    )
    verify_after: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    verdict: str | None = Field(default=None, sa_column=Column(Text))  # JSON before/after
    regression_note: str | None = Field(default=None, sa_column=Column(Text))
    merged_into_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("item.id", ondelete="SET NULL"))
    )

    @property
    def breakdown(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.score_breakdown or "{}")
        return data

    @property
    def verdict_data(self) -> dict[str, Any] | None:
        if not self.verdict:
            return None
        data: dict[str, Any] = json.loads(self.verdict)
        return data


class Evidence(SQLModel, table=True):
    """Why an item exists: one alert, SLO burn, feedback post, survey answer or deploy."""

    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("item_id", "kind", "ref_id", name="uq_evidence_item_kind_ref"),
        Index("ix_evidence_kind_ref_key", "kind", "ref_key"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    item_id: int = Field(
        sa_column=Column(Integer, ForeignKey("item.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    # The row it points at in its own area (alert id, feedback id, deploy id, or
    # "<slo>:<day>" for a burn episode).
    ref_id: str = Field(sa_column=Column(String(64), nullable=False))
    # A grouping key: alert fingerprint, theme id, SLO name.
    ref_key: str | None = Field(default=None, sa_column=Column(String(255)))
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    # Distinct people behind this piece of evidence; `reporter` identifies the one person
    # behind a post (a hash), so counts across posts stay distinct.
    people: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    reporter: str | None = Field(default=None, sa_column=Column(String(64)))
    affected_requests: float | None = Field(default=None, sa_column=Column(Float))
    affected_share: float | None = Field(default=None, sa_column=Column(Float))
    severity: str | None = Field(default=None, sa_column=Column(String(16)))
    sentiment: float | None = Field(default=None, sa_column=Column(Float))
    observed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ExportLink(SQLModel, table=True):
    """Where an item was exported to, and how the last attempt went."""

    __tablename__ = "export_link"
    __table_args__ = (UniqueConstraint("item_id", "target", name="uq_export_link_item_target"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    item_id: int = Field(
        sa_column=Column(Integer, ForeignKey("item.id", ondelete="CASCADE"), nullable=False)
    )
    target: str = Field(sa_column=Column(String(16), nullable=False))
    external_id: str | None = Field(default=None, sa_column=Column(String(120)))
    external_url: str | None = Field(default=None, sa_column=Column(String(2048)))
    last_exported_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_status: str | None = Field(default=None, sa_column=Column(String(16)))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    # An export in flight: set by an atomic UPDATE ... WHERE claimed_at IS NULL (or expired)
    # before the HTTP call, so two exports of one item never both create an issue.
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    claim_token: str | None = Field(default=None, sa_column=Column(String(32)))
