"""Series and sample storage: bulk writes on the scrape hot path, and reads for queries.

Writes use SQLAlchemy Core (executemany) and a per-engine cache of series ids, so a scrape
of known series costs one INSERT of samples; reads implement `collector.series.SeriesSource`.
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
from functools import lru_cache
from itertools import chain
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, delete, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from collector.models import Rollup, Sample, SampleRecent, Series
from collector.series import METRIC_NAME_LABEL, Matcher, MatchOp, SeriesData, matches_all
from core.clock import from_ms
from core.db import reading

ROLLUP_MS = 5 * 60 * 1000
_CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits

SERIES = Series.__table__  # type: ignore[attr-defined]
SAMPLE = Sample.__table__  # type: ignore[attr-defined]
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
    insert, and its move into `sample` pays it again. The ids written here come from
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


def insert_samples(
    conn: Connection, rows: Sequence[tuple[int, int, float]], *, recent: bool = False
) -> int:
    """Bulk insert (series_id, ts_ms, value); a repeated (series, timestamp) is skipped.

    The hot path of every scrape (which writes to sample_recent, see move_recent): plain
    tuples go to the driver 100 rows to a statement (one multi-row VALUES). executemany of
    a one-row INSERT binds, steps and resets a statement per row, which on SQLite costs
    more than the B-tree append itself; this is about 2.5x cheaper there.
    """
    if not rows:
        return 0
    params: Sequence[tuple[int, int, float | None]] = rows
    if conn.dialect.name != "sqlite":  # SQLite stores a NaN as NULL by itself
        params = [(sid, ts, None if v != v else v) for sid, ts, v in rows]
    table = (RECENT if recent else SAMPLE).name
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    k = _ROWS_PER_INSERT
    full = len(params) // k * k
    if full:
        flat = list(chain.from_iterable(params[:full]))
        step = 3 * k
        chunks = [tuple(flat[i : i + step]) for i in range(0, len(flat), step)]
        conn.exec_driver_sql(_insert_sql(table, mark, k), chunks)
    if full < len(params):
        conn.exec_driver_sql(_insert_sql(table, mark, 1), list(params[full:]))
    return len(params)


_ROWS_PER_INSERT = 100  # 300 parameters: under the limit of any SQLite (999 before 3.32)


@lru_cache(maxsize=16)
def _insert_sql(table: str, mark: str, rows: int) -> str:
    group = f"({mark}, {mark}, {mark})"
    values = ", ".join([group] * rows)
    return f"INSERT INTO {table} (series_id, ts_ms, value) VALUES {values} ON CONFLICT DO NOTHING"


def move_recent(engine: Engine, before_ms: int) -> int:
    """Move scraped samples older than before_ms from sample_recent into sample.

    Done every few minutes, each series gets many samples in one go, so SQLite rewrites
    each of its pages once instead of once per scrape. Readers see either table, never both.
    """
    cols = [RECENT.c.series_id, RECENT.c.ts_ms, RECENT.c.value]
    with sample_transaction(engine) as conn:
        conn.execute(
            insert_ignore(conn, SAMPLE).from_select(
                ["series_id", "ts_ms", "value"],
                select(*cols)
                .where(RECENT.c.ts_ms < before_ms)
                .order_by(RECENT.c.series_id, RECENT.c.ts_ms),
            )
        )
        moved = conn.execute(delete(RECENT).where(RECENT.c.ts_ms < before_ms)).rowcount
    return max(moved or 0, 0)


def store_samples(
    bind: Engine | Connection,
    target_id: int | None,
    samples: Iterable[SampleLike],
    now_ms: int,
    *,
    kinds: Mapping[str, str] | None = None,
) -> StoreResult:
    """Store samples (a sample without timestamp gets now_ms); series are created as needed.

    `kinds` maps a sample name to its metric type (counter, gauge, ...), kept on new series.
    """
    if isinstance(bind, Engine):
        with write_lock(bind), bind.begin() as conn:
            return store_samples(conn, target_id, samples, now_ms, kinds=kinds)
    listed = list(samples)
    kinds = kinds or {}
    items = [(s.name, s.labels, kinds.get(s.name)) for s in listed]
    ids, added = ensure_series(bind, items, target_id, from_ms(now_ms))
    rows = [
        (sid, now_ms if s.timestamp_ms is None else s.timestamp_ms, s.value)
        for sid, s in zip(ids, listed, strict=True)
    ]
    stored = insert_samples(bind, rows)
    return StoreResult(stored=stored, series_added=added, series_ids=ids)


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
                for sid, ts, value in conn.execute(
                    self._points(ids[i : i + _CHUNK]), {"start": start_ms, "end": end_ms}
                ):
                    data = by_id[sid]
                    data.timestamps_ms.append(ts)
                    data.values.append(math.nan if value is None else value)
        return [d for d in by_id.values() if d.timestamps_ms]

    def _points(self, ids: list[int]) -> Any:
        if self.use_rollups:
            return (
                select(ROLLUP.c.series_id, ROLLUP.c.bucket_ms, ROLLUP.c.last)
                .where(
                    ROLLUP.c.series_id.in_(ids),
                    ROLLUP.c.bucket_ms.between(bindparam("start"), bindparam("end")),
                )
                .order_by(ROLLUP.c.series_id, ROLLUP.c.bucket_ms)
            )
        parts = [
            select(t.c.series_id, t.c.ts_ms, t.c.value).where(
                t.c.series_id.in_(ids), t.c.ts_ms.between(bindparam("start"), bindparam("end"))
            )
            for t in (SAMPLE, RECENT)
        ]
        return union_all(*parts).order_by("series_id", "ts_ms")
