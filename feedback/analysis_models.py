"""Tables of feedback analysis and intake: themes, merge decisions, source and webhook state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime


class MergeStatus(StrEnum):
    SUGGESTED = "suggested"
    CONFIRMED = "confirmed"
    UNDONE = "undone"
    DISMISSED = "dismissed"


class Theme(SQLModel, table=True):
    """A cluster of near-duplicate feedback; members point at it with feedback.theme_id."""

    __tablename__ = "theme"

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(sa_column=Column(String(200), nullable=False))
    top_terms: str = Field(default="[]", sa_column=Column(Text(), nullable=False))  # JSON list
    # JSON {term: number of members containing it}, pruned to the most frequent terms: the
    # theme's centroid, kept so that clustering can continue incrementally after a restart.
    term_counts: str = Field(default="{}", sa_column=Column(Text(), nullable=False))
    size: int = Field(default=0, sa_column=Column(Integer(), nullable=False))
    service: str | None = Field(default=None, sa_column=Column(String(120)))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    # Set when a person confirmed merging this theme into another; members keep their
    # theme_id, so undoing the merge restores them exactly.
    merged_into_id: int | None = Field(
        default=None,
        sa_column=Column(Integer(), ForeignKey("theme.id", ondelete="SET NULL"), index=True),
    )


class ThemeMerge(SQLModel, table=True):
    """A suggestion to merge `other_theme` into `theme`, and what a person decided."""

    __tablename__ = "theme_merge"
    __table_args__ = (UniqueConstraint("theme_id", "other_theme_id", name="uq_theme_merge_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    theme_id: int = Field(
        sa_column=Column(Integer(), ForeignKey("theme.id", ondelete="CASCADE"), nullable=False)
    )
    other_theme_id: int = Field(
        sa_column=Column(Integer(), ForeignKey("theme.id", ondelete="CASCADE"), nullable=False)
    )
    similarity: float = Field(sa_column=Column(Float(), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    decided_by: str | None = Field(default=None, sa_column=Column(String(80)))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SourceState(SQLModel, table=True):
    """Where polling of one configured source stands, and how its last attempt went."""

    __tablename__ = "source_state"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(sa_column=Column(String(80), unique=True, nullable=False))
    # Discourse: the highest post id stored. Feeds: unused (entries dedupe on their id).
    high_water_mark: str | None = Field(default=None, sa_column=Column(String(255)))
    # Discourse catch-up still to do: page on with before=cursor down to floor (exclusive).
    backfill_cursor: str | None = Field(default=None, sa_column=Column(String(255)))
    backfill_floor: str | None = Field(default=None, sa_column=Column(String(255)))
    etag: str | None = Field(default=None, sa_column=Column(String(255)))
    last_modified: str | None = Field(default=None, sa_column=Column(String(64)))
    last_poll_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_success_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_error: str | None = Field(default=None, sa_column=Column(Text()))
    retry_after_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    items_total: int = Field(default=0, sa_column=Column(Integer(), nullable=False))


class WebhookEvent(SQLModel, table=True):
    """A webhook delivery already applied, so that a redelivery is recognised and skipped."""

    __tablename__ = "webhook_event"
    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_webhook_event_source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(sa_column=Column(String(80), nullable=False))
    event_id: str = Field(sa_column=Column(String(120), nullable=False))
    event_type: str | None = Field(default=None, sa_column=Column(String(80)))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class StoredSource(SQLModel, table=True):
    """A feedback source added on the settings page (config-file sources are not stored).

    `definition` is the same mapping as an entry of `feedback_sources:` in the config file,
    as JSON, so both go through one validation (feedback/sources.py).
    """

    __tablename__ = "feedback_source"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(40), unique=True, nullable=False))
    definition: str = Field(sa_column=Column(Text(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_by: str | None = Field(default=None, sa_column=Column(String(80)))
