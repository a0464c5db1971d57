"""collector: sample_chunk and sample_batch, raw samples packed

sample_chunk holds a row per series and 5-minute bucket; sample_batch a row per scrape.
They replace `sample` (a row per sample): its rows are packed into chunks here, in the format
of collector.chunks as it was written (frozen below, so that a later format change comes
with a migration of its own).

Revision ID: collector_0004
Revises: collector_0003
Create Date: 2026-11-26
"""

import math
import sys
from array import array

import sqlalchemy as sa
from alembic import op

revision = "collector_0004"
down_revision = "collector_0003"
branch_labels = None
depends_on = None

BUCKET_MS = 5 * 60 * 1000
SERIES_PER_READ = 100


def upgrade() -> None:
    op.create_table(
        "sample_chunk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "series_id",
            sa.Integer(),
            sa.ForeignKey("series.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("bucket_ms", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("series_id", "bucket_ms", name="uq_sample_chunk_series_bucket"),
    )
    op.create_index("ix_sample_chunk_bucket", "sample_chunk", ["bucket_ms"])
    op.create_table(
        "sample_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("series", sa.LargeBinary(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sample_batch_ts", "sample_batch", ["ts_ms"])
    _pack_samples()
    op.drop_table("sample")


def _pack_samples() -> None:
    conn = op.get_bind()
    chunk = sa.table(
        "sample_chunk",
        sa.column("series_id"),
        sa.column("bucket_ms"),
        sa.column("count"),
        sa.column("data"),
    )
    series_ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM series ORDER BY id"))]
    for i in range(0, len(series_ids), SERIES_PER_READ):  # bounded memory, any database
        block = series_ids[i : i + SERIES_PER_READ]
        rows = conn.execute(
            sa.text(
                "SELECT series_id, ts_ms, value FROM sample WHERE series_id BETWEEN :lo AND :hi"
                " ORDER BY series_id, ts_ms"
            ),
            {"lo": block[0], "hi": block[-1]},
        )
        out: list[dict[str, object]] = []
        key: tuple[int, int] | None = None
        ts: list[int] = []
        values: list[float] = []
        for series_id, ts_ms, value in rows:
            here = (series_id, ts_ms - ts_ms % BUCKET_MS)
            if here != key:
                if key is not None:
                    out.append(_packed(key, ts, values))
                key, ts, values = here, [], []
            ts.append(ts_ms)
            values.append(math.nan if value is None else value)
        if key is not None:
            out.append(_packed(key, ts, values))
        if out:
            conn.execute(chunk.insert(), out)


def _packed(key: tuple[int, int], ts: list[int], values: list[float]) -> dict[str, object]:
    stamps, floats = array("q", ts), array("d", values)
    if sys.byteorder != "little":
        stamps.byteswap()
        floats.byteswap()
    data = stamps.tobytes() + floats.tobytes()
    return {"series_id": key[0], "bucket_ms": key[1], "count": len(ts), "data": data}


def downgrade() -> None:
    op.create_table(  # as collector_0001 made it
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
    conn = op.get_bind()
    sample = sa.table("sample", sa.column("series_id"), sa.column("ts_ms"), sa.column("value"))
    chunks = conn.execute(sa.text("SELECT series_id, count, data FROM sample_chunk"))
    for series_id, count, data in chunks:
        stamps, floats = array("q"), array("d")
        stamps.frombytes(data[: 8 * count])
        floats.frombytes(data[8 * count :])
        if sys.byteorder != "little":
            stamps.byteswap()
            floats.byteswap()
        rows = [
            {"series_id": series_id, "ts_ms": t, "value": None if math.isnan(v) else v}
            for t, v in zip(stamps, floats, strict=True)
        ]
        conn.execute(sample.insert(), rows)
    op.drop_index("ix_sample_batch_ts", table_name="sample_batch")
    op.drop_table("sample_batch")  # (the collector moves batches before it stops: none left)
    op.drop_index("ix_sample_chunk_bucket", table_name="sample_chunk")
    op.drop_table("sample_chunk")
