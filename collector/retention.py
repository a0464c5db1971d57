"""Rollups and retention: 5-minute buckets (min, max, sum, count, last) and old data removal.

For counters the bucket's `last` is made monotonic across resets (each reset adds the value
before it to a running offset, carried from the previous bucket), so increase() and rate()
over rollups see no false drops and lose nothing to a reset inside a bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.engine import Engine

from collector import chunks
from collector.landing import move_recent
from collector.models import ScrapeRun
from collector.storage import (
    CHUNK,
    RECENT,
    ROLLUP,
    ROLLUP_MS,
    SERIES,
    forget_series_ids,
    write_lock,
)
from core.clock import from_ms
from core.db import reading

MAX_BUCKETS_PER_RUN = 288  # one day: a long catch-up is spread over several runs
_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")


def is_counter(metric: str, kind: str | None) -> bool:
    """Counters and the cumulative parts of histograms and summaries."""
    if kind == "counter":
        return True
    if kind in {"histogram", "summary", None, "unknown"}:
        return metric.endswith(_COUNTER_SUFFIXES)
    return False


@dataclass
class _Bucket:
    min: float = math.inf
    max: float = -math.inf
    sum: float = 0.0
    count: int = 0
    last: float = math.nan

    def add(self, value: float) -> None:
        self.count += 1
        if math.isnan(value):
            return
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        self.sum += value

    def row(self, series_id: int, bucket_ms: int) -> dict[str, Any]:
        finite = self.min <= self.max
        return {
            "series_id": series_id,
            "bucket_ms": bucket_ms,
            "min": self.min if finite else None,
            "max": self.max if finite else None,
            "sum": self.sum if finite else None,
            "count": self.count,
            "last": None if math.isnan(self.last) else self.last,
        }


def _roll_series(
    points: list[tuple[int, float]], start_ms: int, counter: bool, prev_last: float | None
) -> dict[int, _Bucket]:
    """Buckets of one series' points; points before start_ms only seed the counter offset."""
    buckets: dict[int, _Bucket] = {}
    previous: float | None = None
    offset: float | None = None
    for ts, value in points:
        if ts < start_ms:
            if not math.isnan(value):
                previous = value
            continue
        bucket = buckets.setdefault(ts - ts % ROLLUP_MS, _Bucket())
        bucket.add(value)
        if not counter:
            bucket.last = value
            continue
        if math.isnan(value):
            continue
        if offset is None:
            # continue the monotonic line of the previous bucket where we can
            offset = prev_last - previous if prev_last is not None and previous is not None else 0.0
        if previous is not None and value < previous:
            offset += previous  # a reset: the counter restarted from zero
        previous = value
        bucket.last = value + offset
    return buckets


def roll_up(engine: Engine, now_ms: int) -> int:
    """Roll up every complete bucket not rolled up yet; returns how many rows were written.

    The samples of complete buckets are packed first (storage.move_recent). The last rolled
    bucket is redone (samples may have arrived after it was rolled); empty stretches are
    skipped; at most MAX_BUCKETS_PER_RUN buckets with data per run.
    """
    end = now_ms - now_ms % ROLLUP_MS  # buckets before this one are complete
    move_recent(engine, end)
    written = 0
    with reading(engine).connect() as conn:
        done = conn.execute(select(func.max(ROLLUP.c.bucket_ms))).scalar()
        after = conn.execute(
            select(func.min(CHUNK.c.bucket_ms)).where(
                CHUNK.c.bucket_ms >= (done + ROLLUP_MS if done is not None else -(2**62))
            )
        ).scalar()
    with write_lock(engine), engine.begin() as conn:
        if done is not None and done < end:
            written += _roll_range(conn, done, done + ROLLUP_MS)
        if after is not None:
            start = after - after % ROLLUP_MS
            stop = min(end, start + MAX_BUCKETS_PER_RUN * ROLLUP_MS)
            if start < stop:
                written += _roll_range(conn, start, stop)
    return written


def _roll_range(conn: Connection, start: int, end: int) -> int:
    kinds = {
        sid: (metric, kind)
        for sid, metric, kind in conn.execute(select(SERIES.c.id, SERIES.c.metric, SERIES.c.kind))
    }
    prev_last: dict[int, float | None] = {
        sid: last
        for sid, last in conn.execute(
            select(ROLLUP.c.series_id, ROLLUP.c.last).where(ROLLUP.c.bucket_ms == start - ROLLUP_MS)
        )
    }
    rows = conn.execute(
        select(CHUNK.c.series_id, CHUNK.c.count, CHUNK.c.data)
        .where(CHUNK.c.bucket_ms >= start - ROLLUP_MS, CHUNK.c.bucket_ms < end)
        .order_by(CHUNK.c.series_id, CHUNK.c.bucket_ms)
    )
    out: list[dict[str, Any]] = []
    current: int | None = None
    points: list[tuple[int, float]] = []

    def flush() -> None:
        if current is None:
            return
        metric, kind = kinds.get(current, ("", None))
        counter = is_counter(metric, kind)
        for bucket_ms, bucket in _roll_series(
            points, start, counter, prev_last.get(current)
        ).items():
            out.append(bucket.row(current, bucket_ms))

    for sid, count, data in rows:
        if sid != current:
            flush()
            current, points = sid, []
        ts, values = chunks.decode(data, count)
        points.extend(zip(ts, values, strict=True))
    flush()
    conn.execute(delete(ROLLUP).where(ROLLUP.c.bucket_ms >= start, ROLLUP.c.bucket_ms < end))
    if out:
        conn.execute(ROLLUP.insert(), out)
    return len(out)


def apply_retention(
    engine: Engine, now_ms: int, *, raw_keep_s: float, rollup_keep_s: float
) -> dict[str, int]:
    """Delete raw samples past raw_keep_s (never ones not rolled up yet), rollups past
    rollup_keep_s, and series left with neither. Raw samples go a bucket at a time: those
    of a bucket that ends after the cut stay until the next run."""
    with reading(engine).connect() as conn:
        done = conn.execute(select(func.max(ROLLUP.c.bucket_ms))).scalar()
    raw_cut = now_ms - int(raw_keep_s * 1000)
    raw_cut = min(raw_cut, done if done is not None else raw_cut)
    rollup_cut = now_ms - int(rollup_keep_s * 1000)
    runs = ScrapeRun.__table__  # type: ignore[attr-defined]
    with write_lock(engine), engine.begin() as conn:
        expired = CHUNK.c.bucket_ms <= raw_cut - ROLLUP_MS
        packed = select(func.coalesce(func.sum(CHUNK.c.count), 0)).where(expired)
        samples = int(conn.execute(packed).scalar_one())
        conn.execute(delete(CHUNK).where(expired))
        rollups = conn.execute(delete(ROLLUP).where(ROLLUP.c.bucket_ms < rollup_cut)).rowcount
        conn.execute(delete(runs).where(runs.c.started_at < from_ms(raw_cut)))
        # A series stale that long is in no batch either: batches hold minutes of scrapes.
        orphans = conn.execute(
            delete(SERIES).where(
                SERIES.c.stale_at.is_not(None),
                SERIES.c.stale_at < from_ms(rollup_cut),
                ~select(CHUNK.c.series_id).where(CHUNK.c.series_id == SERIES.c.id).exists(),
                ~select(RECENT.c.series_id).where(RECENT.c.series_id == SERIES.c.id).exists(),
                ~select(ROLLUP.c.series_id).where(ROLLUP.c.series_id == SERIES.c.id).exists(),
            )
        ).rowcount
    if orphans:
        forget_series_ids(engine)
    return {"samples": samples, "rollups": rollups, "series": orphans}
