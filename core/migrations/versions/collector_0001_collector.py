"""collector: targets, series, samples, rollups, scrape runs

Revision ID: collector_0001
Revises: 0001_foundation
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "collector_0001"
down_revision = "0001_foundation"
branch_labels = ("collector",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "target",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("interval_s", sa.Float(), nullable=False),
        sa.Column("timeout_s", sa.Float(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("health", sa.String(16), nullable=False),
        sa.Column("last_scrape_at", UTCDateTime(), nullable=True),
        sa.Column("last_duration_s", sa.Float(), nullable=True),
        sa.Column("last_samples", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("job", "url", name="uq_target_job_url"),
    )
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("metric", sa.String(500), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=True),
        sa.Column(
            "target_id",
            sa.Integer(),
            sa.ForeignKey("target.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("last_seen_at", UTCDateTime(), nullable=True),
        sa.Column("stale_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_series_metric", "series", ["metric"])
    op.create_index("ix_series_target_id", "series", ["target_id"])
    op.create_table(
        "sample",
        sa.Column(
            "series_id",
            sa.Integer(),
            sa.ForeignKey("series.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("ts_ms", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("value", sa.Float(), nullable=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup",
        sa.Column(
            "series_id",
            sa.Integer(),
            sa.ForeignKey("series.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("bucket_ms", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("min", sa.Float(), nullable=True),
        sa.Column("max", sa.Float(), nullable=True),
        sa.Column("sum", sa.Float(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last", sa.Float(), nullable=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "scrape_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "target_id",
            sa.Integer(),
            sa.ForeignKey("target.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_scrape_run_target_started", "scrape_run", ["target_id", "started_at"])


def downgrade() -> None:
    op.drop_table("scrape_run")
    op.drop_table("rollup")
    op.drop_table("sample")
    op.drop_index("ix_series_target_id", "series")
    op.drop_index("ix_series_metric", "series")
    op.drop_table("series")
    op.drop_table("target")
