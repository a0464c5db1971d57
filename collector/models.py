"""Tables of the collector: targets, series, raw samples, 5-minute rollups, scrape runs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime


class Health(StrEnum):
    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


class TargetSource(StrEnum):
    """Where a target came from: config file (and file_sd), the API/dashboard, self, demo."""

    CONFIG = "config"
    API = "api"
    SELF = "self"
    DEMO = "demo"


class Target(SQLModel, table=True):
    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("job", "url", name="uq_target_job_url"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(sa_column=Column(String(200), nullable=False))
    url: str = Field(sa_column=Column(String(2000), nullable=False))
    # JSON object of extra target labels (static_configs labels, file_sd labels).
    labels: str = Field(default="{}", sa_column=Column(Text(), nullable=False))
    interval_s: float = Field(sa_column=Column(Float(), nullable=False))
    timeout_s: float = Field(sa_column=Column(Float(), nullable=False))
    enabled: bool = Field(default=True, sa_column=Column(Boolean(), nullable=False))
    source: str = Field(sa_column=Column(String(16), nullable=False))
    health: str = Field(default=Health.UNKNOWN.value, sa_column=Column(String(16), nullable=False))
    last_scrape_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_duration_s: float | None = Field(default=None, sa_column=Column(Float()))
    last_samples: int | None = Field(default=None, sa_column=Column(Integer()))
    last_error: str | None = Field(default=None, sa_column=Column(Text()))
    # Start of the next interval slot nobody has claimed yet: a worker scrapes the target
    # only after moving this forward with an atomic UPDATE (see collector.pool).
    next_scrape_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Series(SQLModel, table=True):
    __tablename__ = "series"

    id: int | None = Field(default=None, primary_key=True)
    metric: str = Field(sa_column=Column(String(500), nullable=False, index=True))
    # Canonical JSON: keys sorted, no __name__, compact separators (see storage.canonical_labels).
    labels: str = Field(sa_column=Column(Text(), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    # Metric type from the exposition (counter, gauge, ...): rollups handle counter resets.
    kind: str | None = Field(default=None, sa_column=Column(String(16)))
    target_id: int | None = Field(
        default=None,
        sa_column=Column(Integer(), ForeignKey("target.id", ondelete="SET NULL"), index=True),
    )
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    stale_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class SampleChunk(SQLModel, table=True):
    """Raw samples of one series in one 5-minute bucket, packed (see collector.chunks).

    A rowid table, not keyed by series: a move of a bucket appends its rows at the end,
    so it writes a few new pages instead of rewriting one page per series."""

    __tablename__ = "sample_chunk"
    __table_args__ = (
        UniqueConstraint("series_id", "bucket_ms", name="uq_sample_chunk_series_bucket"),
        Index("ix_sample_chunk_bucket", "bucket_ms"),
    )

    id: int | None = Field(default=None, primary_key=True)
    series_id: int = Field(
        sa_column=Column(Integer(), ForeignKey("series.id", ondelete="CASCADE"), nullable=False)
    )
    bucket_ms: int = Field(sa_column=Column(BigInteger(), nullable=False, autoincrement=False))
    count: int = Field(sa_column=Column(Integer(), nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))


class SampleRecent(SQLModel, table=True):
    """Fresh scraped samples, in time order: appending here touches a few pages per scrape,
    where a table keyed by series would touch one page per series. A periodic move
    brings each complete 5-minute bucket into `sample_chunk`; queries read both."""

    __tablename__ = "sample_recent"
    __table_args__ = (
        PrimaryKeyConstraint("ts_ms", "series_id", name="pk_sample_recent"),
        {"sqlite_with_rowid": False},
    )

    # NULL stands for NaN: SQLite turns NaN into NULL, so both databases read it back as NaN.
    series_id: int = Field(
        sa_column=Column(Integer(), ForeignKey("series.id", ondelete="CASCADE"), nullable=False)
    )
    ts_ms: int = Field(sa_column=Column(BigInteger(), nullable=False, autoincrement=False))
    value: float | None = Field(default=None, sa_column=Column(Float()))


class SampleBatch(SQLModel, table=True):
    """One scrape's samples that carry the scrape's own time, packed: the series ids
    (int64) and their values (float64), little-endian, in the exposition's order.

    The landing place of the scrape hot path: one small insert per scrape instead of a row
    per sample. Samples with a timestamp of their own, and series another target created,
    land in `sample_recent` instead. Both move into `sample_chunk` with their bucket."""

    __tablename__ = "sample_batch"
    __table_args__ = (Index("ix_sample_batch_ts", "ts_ms"),)

    id: int | None = Field(default=None, primary_key=True)
    ts_ms: int = Field(sa_column=Column(BigInteger(), nullable=False, autoincrement=False))
    # No foreign key: a batch outlives its target until it moves (readers look for
    # batches of targets that are gone).
    target_id: int | None = Field(default=None, sa_column=Column(Integer(), nullable=True))
    count: int = Field(sa_column=Column(Integer(), nullable=False))
    series: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))


class Rollup(SQLModel, table=True):
    __tablename__ = "rollup"
    __table_args__ = {"sqlite_with_rowid": False}

    series_id: int = Field(
        sa_column=Column(Integer(), ForeignKey("series.id", ondelete="CASCADE"), primary_key=True)
    )
    bucket_ms: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    min: float | None = Field(default=None, sa_column=Column(Float()))
    max: float | None = Field(default=None, sa_column=Column(Float()))
    sum: float | None = Field(default=None, sa_column=Column(Float()))
    count: int = Field(sa_column=Column(Integer(), nullable=False))
    # For counters: the value made monotonic across resets, so rate() over rollups is right.
    last: float | None = Field(default=None, sa_column=Column(Float()))


class ScrapeRun(SQLModel, table=True):
    __tablename__ = "scrape_run"
    __table_args__ = (Index("ix_scrape_run_target_started", "target_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    target_id: int = Field(
        sa_column=Column(Integer(), ForeignKey("target.id", ondelete="CASCADE"), nullable=False)
    )
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    duration_s: float = Field(sa_column=Column(Float(), nullable=False))
    samples: int = Field(sa_column=Column(Integer(), nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text()))
