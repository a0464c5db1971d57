"""Series and sample storage: series ids for the scrape hot path, and reads for queries.

Samples land in `sample_batch` and `sample_recent` and move into `sample_chunk` when their
5-minute bucket is complete (collector.landing); DatabaseSource
(`collector.series.SeriesSource`) reads all three. A per-engine cache of series ids keeps
a scrape of known series free of series lookups.
Series are deleted only by retention (and created rows vanish on a rollback): both bump a
per-engine generation through `forget_series_ids`, so every cache of ids knows to forget.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from collector import chunks
from collector.models import Rollup, SampleBatch, SampleChunk, SampleRecent, Series, Target
from collector.series import METRIC_NAME_LABEL, Matcher, MatchOp, SeriesData, matches_all
from core.db import reading

ROLLUP_MS = 5 * 60 * 1000
_CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits

SERIES = Series.__table__  # type: ignore[attr-defined]
CHUNK = SampleChunk.__table__  # type: ignore[attr-defined]
BATCH = SampleBatch.__table__  # type: ignore[attr-defined]
RECENT = SampleRecent.__table__  # type: ignore[attr-defined]
ROLLUP = Rollup.__table__  # type: ignore[attr-defined]


class SampleLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def labels(self) -> Mapping[str, str]: ...
    @property
    def value(self) -> float: ...
    @property
    def timestamp_ms(self) -> int | None: ...


@dataclass
class StoreResult:
    stored: int = 0
    series_added: int = 0
    series_ids: list[int] = field(default_factory=list)


def canonical_labels(labels: Mapping[str, str]) -> str:
    """The stored form of a label set: JSON, keys sorted, without __name__, compact."""
    items = sorted((k, v) for k, v in labels.items() if k != METRIC_NAME_LABEL)
    return json.dumps(dict(items), separators=(",", ":"), ensure_ascii=False)


def series_hash(metric: str, labels_json: str) -> str:
    return hashlib.blake2b(f"{metric}\x00{labels_json}".encode(), digest_size=20).hexdigest()


_ID_CACHES: weakref.WeakKeyDictionary[Engine, dict[str, int]] = weakref.WeakKeyDictionary()


def _id_cache(engine: Engine) -> dict[str, int]:
    cache = _ID_CACHES.get(engine)
    if cache is None:
        cache = _ID_CACHES[engine] = {}
    return cache


_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_LOCK = threading.Lock()


def write_lock(engine: Engine) -> AbstractContextManager[Any]:
    """Serialise this process's write transactions on SQLite (one writer at a time anyway).

    Writers queue on this lock instead of polling in SQLite's busy handler (which sleeps in
    growing steps) while another scrape thread holds the database. PostgreSQL needs none.
    """
    if engine.dialect.name != "sqlite":
        return nullcontext()
    with _LOCKS_LOCK:
        lock = _WRITE_LOCKS.get(engine)
        if lock is None:
            lock = _WRITE_LOCKS[engine] = threading.Lock()
    return lock


_GENERATIONS: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()
_GENERATION_COUNTER = itertools.count(1)


def forget_series_ids(engine: Engine) -> None:
    """Drop cached series ids (after a rollback, or after series rows were deleted), and
    start a new generation so that caches elsewhere (SeriesMemo) drop theirs too."""
    _ID_CACHES.pop(engine, None)
    _GENERATIONS[engine] = next(_GENERATION_COUNTER)


def series_generation(engine: Engine) -> int:
    """Changes whenever cached series ids may have become wrong (see forget_series_ids)."""
    return _GENERATIONS.get(engine, 0)


@contextmanager
def sample_transaction(engine: Engine) -> Iterator[Connection]:
    """The write transaction of the scrape hot path (this process's writers queue for it).

    On SQLite it runs without per-row foreign-key checks: checking that each sample's
    series exists is a B-tree probe of `series` per row, about a third of the cost of an
    insert, and a move into `sample_chunk` would pay it again. The ids written here come from
    `series` in this process and are forgotten when retention deletes series (see
    series_generation). PostgreSQL keeps checking: there, other processes write too.
    """
    with write_lock(engine), engine.connect() as conn:
        raw = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: before BEGIN
        try:
            with conn.begin():
                yield conn
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def insert_ignore(conn: Connection, table: Any) -> Any:
    """INSERT that skips rows hitting a unique key, on SQLite and PostgreSQL alike."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def ensure_series(
    conn: Connection,
    items: Sequence[tuple[str, Mapping[str, str], str | None]],
    target_id: int | None,
    now: datetime,
) -> tuple[list[int], int]:
    """Ids of the series (metric, labels, kind), creating missing ones; and how many were new."""
    cache = _id_cache(conn.engine)
    hashes: list[str] = []
    missing: dict[str, dict[str, Any]] = {}
    for metric, labels, kind in items:
        labels_json = canonical_labels(labels)
        digest = series_hash(metric, labels_json)
        hashes.append(digest)
        if digest not in cache and digest not in missing:
            missing[digest] = {
                "metric": metric,
                "labels": labels_json,
                "hash": digest,
                "kind": kind,
                "target_id": target_id,
                "last_seen_at": now,
                "stale_at": None,
            }
    # Known series first (a cold cache after a restart), then insert only the new ones:
    # insert-or-ignore keeps this safe when another worker creates the same series.
    _load_ids(conn, list(missing), cache)
    new = [row for digest, row in missing.items() if digest not in cache]
    if new:
        conn.execute(insert_ignore(conn, SERIES), new)
        _load_ids(conn, [row["hash"] for row in new], cache)
    return [cache[h] for h in hashes], len(new)


def _load_ids(conn: Connection, hashes: list[str], cache: dict[str, int]) -> None:
    for i in range(0, len(hashes), _CHUNK):
        rows = conn.execute(
            select(SERIES.c.hash, SERIES.c.id).where(SERIES.c.hash.in_(hashes[i : i + _CHUNK]))
        )
        cache.update({h: sid for h, sid in rows})


def mark_stale(conn: Connection, series_ids: Iterable[int], now: datetime) -> None:
    """Series that a scrape of their target no longer returned (Prometheus staleness)."""
    ids = list(series_ids)
    for i in range(0, len(ids), _CHUNK):
        conn.execute(
            update(SERIES)
            .where(SERIES.c.id.in_(ids[i : i + _CHUNK]), SERIES.c.stale_at.is_(None))
            .values(stale_at=now)
        )


def mark_seen(conn: Connection, series_ids: Iterable[int], now: datetime) -> None:
    """Series seen again: clear their staleness and record when they were seen."""
    ids = list(series_ids)
    for i in range(0, len(ids), _CHUNK):
        conn.execute(
            update(SERIES)
            .where(SERIES.c.id.in_(ids[i : i + _CHUNK]))
            .values(stale_at=None, last_seen_at=now)
        )


def _prefilter(matchers: Sequence[Matcher]) -> Any:
    """SQL narrowing by metric name where a matcher allows it; the rest is done in Python."""
    stmt = select(SERIES.c.id, SERIES.c.metric, SERIES.c.labels)
    for m in matchers:
        if m.name == METRIC_NAME_LABEL and m.op is MatchOp.EQUAL:
            stmt = stmt.where(SERIES.c.metric == m.value)
    return stmt


def find_series(conn: Connection, matchers: Sequence[Matcher]) -> list[tuple[int, dict[str, str]]]:
    """(id, labels with __name__) of every stored series matching all matchers."""
    found = []
    for sid, metric, labels_json in conn.execute(_prefilter(matchers)):
        labels = {METRIC_NAME_LABEL: metric, **json.loads(labels_json)}
        if matches_all(matchers, labels):
            found.append((sid, labels))
    return found


class DatabaseSource:
    """SeriesSource over the database: raw samples, or one point per 5-minute rollup bucket.

    With use_rollups the point of a bucket is its `last` value, stamped at the bucket start;
    for counters that value is made monotonic across resets, so rate() stays right.
    """

    def __init__(self, engine: Engine, *, use_rollups: bool = False) -> None:
        self.engine = engine
        self.use_rollups = use_rollups

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        with reading(self.engine).connect() as conn:
            series = find_series(conn, matchers)
            by_id = {sid: SeriesData(labels) for sid, labels in series}
            ids = list(by_id)
            for i in range(0, len(ids), _CHUNK):
                part = ids[i : i + _CHUNK]
                if self.use_rollups:
                    _read_rollups(conn, part, by_id, start_ms, end_ms)
                else:
                    _read_raw(conn, part, by_id, start_ms, end_ms)
        return [d for d in by_id.values() if d.timestamps_ms]


def _read_rollups(
    conn: Connection, ids: list[int], by_id: dict[int, SeriesData], start_ms: int, end_ms: int
) -> None:
    rows = conn.execute(
        select(ROLLUP.c.series_id, ROLLUP.c.bucket_ms, ROLLUP.c.last)
        .where(ROLLUP.c.series_id.in_(ids), ROLLUP.c.bucket_ms.between(start_ms, end_ms))
        .order_by(ROLLUP.c.series_id, ROLLUP.c.bucket_ms)
    )
    for sid, bucket_ms, last in rows:
        data = by_id[sid]
        data.timestamps_ms.append(bucket_ms)
        data.values.append(math.nan if last is None else last)


def _read_raw(
    conn: Connection, ids: list[int], by_id: dict[int, SeriesData], start_ms: int, end_ms: int
) -> None:
    """Packed buckets, then what is still landing. A series' chunks come in bucket order,
    its batches and its rows each in time order; only where sources meet (a late sample, a
    series that moved between targets) can points be out of order or repeated, and there
    they are merged as the move would merge them."""
    packed = conn.execute(
        select(CHUNK.c.series_id, CHUNK.c.count, CHUNK.c.data)
        .where(
            CHUNK.c.series_id.in_(ids),
            CHUNK.c.bucket_ms > start_ms - ROLLUP_MS,
            CHUNK.c.bucket_ms <= end_ms,
        )
        .order_by(CHUNK.c.series_id, CHUNK.c.bucket_ms)
    )
    for sid, count, blob in packed:
        ts, values = chunks.window(*chunks.decode(blob, count), start_ms, end_ms)
        data = by_id[sid]
        data.timestamps_ms.extend(ts)
        data.values.extend(values)
    landing: dict[int, list[tuple[int, float]]] = {}
    mixed: set[int] = set()
    _read_batches(conn, ids, start_ms, end_ms, landing)
    recent = conn.execute(
        select(RECENT.c.series_id, RECENT.c.ts_ms, RECENT.c.value)
        .where(RECENT.c.series_id.in_(ids), RECENT.c.ts_ms.between(start_ms, end_ms))
        .order_by(RECENT.c.series_id, RECENT.c.ts_ms)
    )
    seen_rows: set[int] = set()
    for sid, ts, value in recent:
        points = landing.setdefault(sid, [])
        if points and sid not in seen_rows:
            mixed.add(sid)  # batches and rows both: their times may interleave
        seen_rows.add(sid)
        points.append((ts, math.nan if value is None else value))
    for sid, points in landing.items():
        data = by_id[sid]
        if sid in mixed or (data.timestamps_ms and points[0][0] <= data.timestamps_ms[-1]):
            packed_points = zip(data.timestamps_ms, data.values, strict=True)
            data.timestamps_ms, data.values = chunks.merge(packed_points, points)
        else:
            data.timestamps_ms.extend(t for t, _ in points)
            data.values.extend(v for _, v in points)


def _read_batches(
    conn: Connection,
    ids: list[int],
    start_ms: int,
    end_ms: int,
    landing: dict[int, list[tuple[int, float]]],
) -> None:
    """Points of these series in the batches of their targets (and of targets gone since:
    a series loses its owner when its target is deleted), in time order."""
    owners = conn.execute(
        select(SERIES.c.target_id).distinct().where(SERIES.c.id.in_(ids))
    ).scalars()
    targets = Target.__table__  # type: ignore[attr-defined]
    batches = conn.execute(
        select(BATCH.c.ts_ms, BATCH.c.series, BATCH.c.data)
        .where(
            BATCH.c.ts_ms.between(start_ms, end_ms),
            BATCH.c.target_id.in_([t for t in owners if t is not None])
            | BATCH.c.target_id.is_(None)
            | BATCH.c.target_id.not_in(select(targets.c.id)),
        )
        .order_by(BATCH.c.ts_ms)
    )
    wanted = set(ids)
    positions: dict[bytes, list[tuple[int, int]]] = {}  # one entry per distinct series list
    for ts, series, blob in batches:
        where = positions.get(series)
        if where is None:
            where = positions[series] = [
                (sid, i) for i, sid in enumerate(chunks.ints(series)) if sid in wanted
            ]
        if where:
            values = chunks.floats(blob)
            for sid, i in where:
                landing.setdefault(sid, []).append((ts, values[i]))
