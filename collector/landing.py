"""Where samples land, and their move into chunks once their 5-minute bucket is complete.

Two landing tables, both cheap to append to: `sample_batch`, one row per scrape holding
the ids and values of its series (every sample stamped with the scrape's time, of series
the scraped target owns: the hot path), and `sample_recent`, one row per sample (samples
with a timestamp of their own, series another target created, store_samples). move_recent
regroups both into `sample_chunk` rows, one per series and bucket (see collector.chunks).

Readers (storage.DatabaseSource) find a batch by its target: that is why a series goes
into a target's batches only when that target owns it (series.target_id).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, pairwise
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.engine import Engine

from collector import chunks
from collector.storage import (
    BATCH,
    CHUNK,
    RECENT,
    ROLLUP_MS,
    SERIES,
    SampleLike,
    StoreResult,
    ensure_series,
    sample_transaction,
    write_lock,
)
from core.clock import from_ms

_IN_LIST = 500  # values per IN (...) list: well under SQLite's and PostgreSQL's limits
_ROWS_PER_INSERT = 100  # at most 500 parameters: under the limit of any SQLite (999 before 3.32)
_RECENT_INSERT = "INSERT INTO sample_recent (series_id, ts_ms, value) VALUES "
_BATCH_INSERT = "INSERT INTO sample_batch (ts_ms, target_id, count, series, data) VALUES "
_CHUNK_INSERT = "INSERT INTO sample_chunk (series_id, bucket_ms, count, data) VALUES "


@dataclass
class Landing:
    """The samples of one write transaction, on their way to the landing tables."""

    rows: list[tuple[int, int, float]] = field(default_factory=list)
    batches: list[tuple[int, int | None, int, bytes, bytes]] = field(default_factory=list)

    def add_scrape(
        self, target_id: int | None, ts_ms: int, ids: Sequence[int], values: Sequence[float]
    ) -> None:
        """Samples of series the target owns, all stamped ts_ms: one batch row. A series
        twice in one scrape goes row by row, where the first of the two is kept."""
        if not ids:
            return
        if len(set(ids)) != len(ids):
            self.rows.extend((sid, ts_ms, v) for sid, v in zip(ids, values, strict=True))
            return
        packed = (chunks.pack_ints(ids), chunks.pack_floats(values))
        self.batches.append((ts_ms, target_id, len(ids), *packed))

    def write(self, conn: Connection) -> int:
        """Insert everything gathered; the number of samples."""
        count = insert_samples(conn, self.rows)
        if self.batches:
            _insert_rows(conn, _BATCH_INSERT, self.batches, 5)
            count += sum(batch[2] for batch in self.batches)
        return count


def insert_samples(conn: Connection, rows: Sequence[tuple[int, int, float]]) -> int:
    """Bulk insert (series_id, ts_ms, value) into sample_recent; a repeated (series,
    timestamp) is skipped there (and when its bucket moves, if the bucket holds it already).

    Plain tuples go to the driver 100 rows to a statement (one multi-row VALUES):
    executemany of a one-row INSERT binds, steps and resets a statement per row, which on
    SQLite costs more than the B-tree append itself.
    """
    if not rows:
        return 0
    params: Sequence[tuple[int, int, float | None]] = rows
    if conn.dialect.name != "sqlite":  # SQLite stores a NaN as NULL by itself
        params = [(sid, ts, None if v != v else v) for sid, ts, v in rows]
    _insert_rows(conn, _RECENT_INSERT, params, 3, " ON CONFLICT DO NOTHING")
    return len(params)


def _insert_rows(
    conn: Connection, head: str, rows: Sequence[tuple[Any, ...]], width: int, tail: str = ""
) -> None:
    """INSERT rows of `width` columns, _ROWS_PER_INSERT to a statement, through the driver."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    k = _ROWS_PER_INSERT
    full = len(rows) // k * k
    if full:
        flat = list(chain.from_iterable(rows[:full]))
        step = width * k
        statements = [tuple(flat[i : i + step]) for i in range(0, len(flat), step)]
        conn.exec_driver_sql(_insert_sql(head, tail, mark, width, k), statements)
    if full < len(rows):
        conn.exec_driver_sql(_insert_sql(head, tail, mark, width, 1), list(rows[full:]))


@lru_cache(maxsize=16)
def _insert_sql(head: str, tail: str, mark: str, width: int, rows: int) -> str:
    group = "(" + ", ".join([mark] * width) + ")"
    return head + ", ".join([group] * rows) + tail


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


def foreign_series(conn: Connection, ids: Iterable[int], target_id: int) -> set[int]:
    """Of these series, the ones the target does not own (another target created them, or
    their owner is gone): their samples land row by row, not in the target's batches."""
    wanted = list(ids)
    found: set[int] = set()
    for i in range(0, len(wanted), _IN_LIST):
        found.update(
            conn.execute(
                select(SERIES.c.id).where(
                    SERIES.c.id.in_(wanted[i : i + _IN_LIST]),
                    (SERIES.c.target_id != target_id) | SERIES.c.target_id.is_(None),
                )
            ).scalars()
        )
    return found


# -- the move ----------------------------------------------------------------------------

# Points of one series in one bucket from one source: (timestamps, values, in order), where
# "in order" means strictly increasing timestamps.
_Piece = tuple[Sequence[int], Sequence[float | None], bool]
_Pieces = dict[tuple[int, int], list[_Piece]]

_CHUNK_UPDATE = (
    update(CHUNK)
    .where(CHUNK.c.id == bindparam("b_id"))
    .values(count=bindparam("b_count"), data=bindparam("b_data"))
)


def move_recent(engine: Engine, before_ms: int) -> int:
    """Move samples older than before_ms from the landing tables into sample_chunk.

    The collector calls it when a 5-minute bucket is complete, so each series gets one new
    chunk per bucket. Points that arrive for a bucket already packed (a late sample with a
    timestamp of its own, or a move in the middle of a bucket) are merged into its chunk;
    where both have a timestamp, the stored point stays. Readers see a sample in one table.
    """
    with sample_transaction(engine) as conn:
        pieces: _Pieces = {}
        moved = _gather_batches(conn, before_ms, pieces) + _gather_rows(conn, before_ms, pieces)
        if not moved:
            return 0
        updates = _merge_stored(conn, pieces)
        new = []
        for (sid, bucket), parts in pieces.items():
            ts, values = _joined(parts)
            new.append((sid, bucket, len(ts), chunks.encode(ts, values)))
        if new:
            _insert_rows(conn, _CHUNK_INSERT, new, 4)
        if updates:
            conn.execute(_CHUNK_UPDATE, updates)
        conn.execute(delete(BATCH).where(BATCH.c.ts_ms < before_ms))
        conn.execute(delete(RECENT).where(RECENT.c.ts_ms < before_ms))
    return moved


def _fetch(conn: Connection, sql: str, before_ms: int) -> list[Any]:
    """Rows as plain tuples from the driver: the move reads every sample it moves."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql.replace("?", mark), (before_ms,))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _gather_batches(conn: Connection, before_ms: int, pieces: _Pieces) -> int:
    """Batches, turned into pieces per series and bucket. A target's consecutive scrapes
    with the same series (the steady state) are transposed at once."""
    rows = _fetch(
        conn,
        "SELECT ts_ms, series, data, count FROM sample_batch WHERE ts_ms < ?"
        " ORDER BY target_id, ts_ms",
        before_ms,
    )
    moved = 0
    run: list[tuple[int, bytes]] = []  # (ts, data) of scrapes with the same series
    run_series = b""
    for ts, series, data, count in rows:
        if series != run_series:
            _transpose(run_series, run, pieces)
            run, run_series = [], series
        run.append((ts, data))
        moved += count
    _transpose(run_series, run, pieces)
    return moved


def _transpose(series: bytes, run: list[tuple[int, bytes]], pieces: _Pieces) -> None:
    if not run:
        return
    ids = chunks.ints(series)
    stamps = [ts for ts, _ in run]
    in_order = all(a < b for a, b in pairwise(stamps))
    columns = list(zip(*(chunks.floats(data) for _, data in run), strict=True))
    start = 0
    while start < len(stamps):  # one slice per bucket (a single one, at a bucket's end)
        bucket = stamps[start] - stamps[start] % ROLLUP_MS
        stop = start
        while stop < len(stamps) and stamps[stop] - bucket < ROLLUP_MS:
            stop += 1
        whole = start == 0 and stop == len(stamps)
        ts = stamps if whole else stamps[start:stop]
        for sid, column in zip(ids, columns, strict=True):
            piece = (ts, column if whole else column[start:stop], in_order)
            pieces.setdefault((sid, bucket), []).append(piece)
        start = stop


def _gather_rows(conn: Connection, before_ms: int, pieces: _Pieces) -> int:
    """Rows of sample_recent (read in its key order: time, then series) as pieces."""
    rows = _fetch(
        conn, "SELECT series_id, ts_ms, value FROM sample_recent WHERE ts_ms < ?", before_ms
    )
    grouped: dict[tuple[int, int], tuple[list[int], list[float | None]]] = {}
    get = grouped.get
    for sid, ts, value in rows:
        key = (sid, ts - ts % ROLLUP_MS)
        points = get(key)
        if points is None:
            points = grouped[key] = ([], [])
        points[0].append(ts)
        points[1].append(value)
    for key, (ts_list, values) in grouped.items():
        pieces.setdefault(key, []).append((ts_list, values, True))
    return len(rows)


def _joined(parts: list[_Piece]) -> tuple[Sequence[int], Sequence[float | None]]:
    """One series' points of one bucket, from all its pieces: in time order, each once."""
    if len(parts) == 1 and parts[0][2]:
        return parts[0][0], parts[0][1]
    return chunks.merge(*(_points(part) for part in parts))


def _points(part: _Piece) -> Iterable[tuple[int, float]]:
    values = (math.nan if v is None else v for v in part[1])
    return zip(part[0], values, strict=True)


def _merge_stored(conn: Connection, pieces: _Pieces) -> list[dict[str, Any]]:
    """Take out of `pieces` the ones whose chunk exists; their merged chunks, as updates."""
    buckets = sorted({bucket for _, bucket in pieces})
    updates = []
    for i in range(0, len(buckets), _IN_LIST):
        stored = conn.execute(
            select(
                CHUNK.c.id, CHUNK.c.series_id, CHUNK.c.bucket_ms, CHUNK.c.count, CHUNK.c.data
            ).where(CHUNK.c.bucket_ms.in_(buckets[i : i + _IN_LIST]))
        )
        for chunk_id, sid, bucket, count, data in stored:
            parts = pieces.pop((sid, bucket), None)
            if parts is None:
                continue
            old = zip(*chunks.decode(data, count), strict=True)
            ts, values = chunks.merge(old, *(_points(part) for part in parts))
            updates.append(
                {"b_id": chunk_id, "b_count": len(ts), "b_data": chunks.encode(ts, values)}
            )
    return updates
