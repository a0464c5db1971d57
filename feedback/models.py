"""Tables of the feedback package: feedback items, surveys and survey responses."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

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


class FeedbackKind(StrEnum):
    """How a piece of feedback entered opsloop."""

    FORM = "form"
    SURVEY = "survey"
    CSV = "csv"
    DISCOURSE = "discourse"
    FEED = "feed"
    API = "api"
    DEMO = "demo"


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class SurveyKind(StrEnum):
    NPS = "nps"  # 0-10, "how likely are you to recommend"
    CSAT = "csat"  # 1-5 satisfaction
    CES = "ces"  # 1-7 customer effort


class Feedback(SQLModel, table=True):
    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_feedback_source_external_id"),
        # The inbox lists newest first, filtered by date: an index on the time of writing.
        Index("ix_feedback_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # "form", "api", a configured source name, or "survey:<slug>"
    source: str = Field(sa_column=Column(String(80), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    external_id: str = Field(sa_column=Column(String(255), nullable=False))
    author: str | None = Field(default=None, sa_column=Column(String(255)))
    email: str | None = Field(default=None, sa_column=Column(String(255)))
    text: str = Field(sa_column=Column(Text(), nullable=False))
    rating: float | None = Field(default=None, sa_column=Column(Float()))
    url: str | None = Field(default=None, sa_column=Column(String(2048)))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    service: str | None = Field(default=None, sa_column=Column(String(120), index=True))
    sentiment: float | None = Field(default=None, sa_column=Column(Float()))  # VADER compound
    sentiment_label: str | None = Field(default=None, sa_column=Column(String(16)))
    urgent: bool = Field(default=False, sa_column=Column(Boolean(), nullable=False))
    # No foreign key: the theme table belongs to the analysis side of the package and is
    # rebuilt by clustering; a dangling id only means "not clustered yet".
    theme_id: int | None = Field(default=None, sa_column=Column(Integer(), index=True))
    spam: bool = Field(default=False, sa_column=Column(Boolean(), nullable=False))
    survey_response_id: int | None = Field(
        default=None,
        sa_column=Column(Integer(), ForeignKey("survey_response.id", ondelete="SET NULL")),
    )
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))


class Survey(SQLModel, table=True):
    __tablename__ = "survey"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_column=Column(String(80), unique=True, nullable=False))
    kind: str = Field(sa_column=Column(String(8), nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    question: str = Field(sa_column=Column(String(500), nullable=False))
    extra_questions: str = Field(default="[]", sa_column=Column(Text(), nullable=False))  # JSON
    service: str | None = Field(default=None, sa_column=Column(String(120)))
    active: bool = Field(default=True, sa_column=Column(Boolean(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SurveyResponse(SQLModel, table=True):
    __tablename__ = "survey_response"
    __table_args__ = (
        UniqueConstraint("survey_id", "external_id", name="uq_survey_response_survey_external"),
    )

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(
        sa_column=Column(Integer(), ForeignKey("survey.id", ondelete="CASCADE"), nullable=False)
    )
    external_id: str = Field(sa_column=Column(String(255), nullable=False))
    score: int = Field(sa_column=Column(Integer(), nullable=False))
    answers: str = Field(default="{}", sa_column=Column(Text(), nullable=False))  # JSON object
    comment: str | None = Field(default=None, sa_column=Column(Text()))
    service: str | None = Field(default=None, sa_column=Column(String(120)))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ImportJob(SQLModel, table=True):
    """A CSV upload being imported in chunks; the upload page polls its progress."""

    __tablename__ = "feedback_import"

    id: int | None = Field(default=None, primary_key=True)
    filename: str = Field(sa_column=Column(String(255), nullable=False))
    path: str = Field(sa_column=Column(String(1024), nullable=False))  # the stored upload
    survey_slug: str | None = Field(default=None, sa_column=Column(String(80)))
    format: str = Field(sa_column=Column(String(16), nullable=False))
    mapping: str = Field(default="{}", sa_column=Column(Text(), nullable=False))  # JSON
    source: str = Field(default="csv", sa_column=Column(String(80), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    rows: int = Field(default=0, sa_column=Column(Integer(), nullable=False))
    done: int = Field(default=0, sa_column=Column(Integer(), nullable=False))
    added: int = Field(default=0, sa_column=Column(Integer(), nullable=False))
    duplicates: int = Field(default=0, sa_column=Column(Integer(), nullable=False))
    skipped: int = Field(default=0, sa_column=Column(Integer(), nullable=False))
    comments_added: int = Field(default=0, sa_column=Column(Integer(), nullable=False))
    error_count: int = Field(default=0, sa_column=Column(Integer(), nullable=False))
    errors: str = Field(default="[]", sa_column=Column(Text(), nullable=False))  # [[line, why]]
    message: str | None = Field(default=None, sa_column=Column(Text()))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Set when the job starts and after each chunk; a running job whose heartbeat is old
    # lost its thread (the web process restarted) and is marked failed.
    heartbeat_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
