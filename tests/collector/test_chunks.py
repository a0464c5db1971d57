"""Packed raw samples: the chunk format, and moves that meet a bucket already packed."""

import math
from typing import NamedTuple

import pytest
from alembic import command
from sqlalchemy import func, select, text

from collector import chunks
from collector.landing import insert_samples, move_recent
from collector.retention import roll_up
from collector.series import Matcher, MatchOp
from collector.storage import CHUNK, ROLLUP_MS, DatabaseSource, ensure_series
from core.clock import from_ms
from core.migrate import alembic_config, upgrade

T0 = 1_700_000_400_000 - 1_700_000_400_000 % ROLLUP_MS  # a bucket boundary


def test_a_chunk_keeps_every_value_exactly():
    ts = [T0, T0 + 15_000, T0 + 30_000, T0 + 45_000, T0 + 60_000]
    values = [0.1, None, math.inf, -math.inf, 1.7976931348623157e308]
    got_ts, got_values = chunks.decode(chunks.encode(ts, values), len(ts))
    assert list(got_ts) == ts
    assert got_values[0] == 0.1 and math.isnan(got_values[1])
    assert list(got_values[2:]) == [math.inf, -math.inf, 1.7976931348623157e308]


def test_a_chunk_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match="a chunk of 3 points is 48 bytes, not 32"):
        chunks.decode(chunks.encode([1, 2], [1.0, 2.0]), 3)


def test_window_and_merge():
    ts, values = chunks.decode(chunks.encode([10, 20, 30, 40], [1.0, 2.0, 3.0, 4.0]), 4)
    assert [list(p) for p in chunks.window(ts, values, 15, 30)] == [[20, 30], [2.0, 3.0]]
    assert [list(p) for p in chunks.window(ts, values, 0, 99)] == [[10, 20, 30, 40], [1, 2, 3, 4]]
    merged = chunks.merge([(20, 2.0), (40, 4.0)], [(10, 1.0), (20, 9.9), (30, 3.0)])
    assert merged == ([10, 20, 30, 40], [1.0, 2.0, 3.0, 4.0])  # the first one's 20 stays


class S(NamedTuple):
    name: str
    labels: dict
    value: float
    timestamp_ms: int | None


def _series(engine, name="late"):
    with engine.begin() as conn:
        (sid,), _ = ensure_series(conn, [(name, {}, "gauge")], None, from_ms(T0))
    return sid


def _land(engine, rows):
    with engine.begin() as conn:
        insert_samples(conn, rows)


def _read(engine, name="late", start=0, end=2**62):
    (data,) = DatabaseSource(engine).select([Matcher("__name__", MatchOp.EQUAL, name)], start, end)
    return data.timestamps_ms, data.values


def _chunks(engine):
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count(), func.sum(CHUNK.c.count))).one())


def test_a_late_sample_joins_its_bucket_and_a_repeated_one_changes_nothing(engine):
    sid = _series(engine)
    _land(engine, [(sid, T0 + i * 60_000, float(i)) for i in (0, 2, 4)])
    assert move_recent(engine, T0 + ROLLUP_MS) == 3
    # a late sample in the packed bucket, one repeating a packed timestamp with another
    # value, and one of the next bucket
    _land(engine, [(sid, T0 + 60_000, 1.0), (sid, T0 + 120_000, 99.0), (sid, T0 + ROLLUP_MS, 5.0)])
    minutes = [0, 1, 2, 4]
    expected = ([T0 + m * 60_000 for m in minutes] + [T0 + ROLLUP_MS], [0.0, 1.0, 2.0, 4.0, 5.0])
    # read before the move: the landing table's points merged with the packed ones
    assert _read(engine) == expected
    assert move_recent(engine, T0 + 2 * ROLLUP_MS) == 3
    assert _read(engine) == expected
    assert _chunks(engine) == (2, 5)  # the first bucket's chunk grew; one new chunk


def test_reads_cut_chunks_at_the_range(engine):
    sid = _series(engine)
    _land(engine, [(sid, T0 + i * 15_000, float(i)) for i in range(40)])  # two buckets
    move_recent(engine, T0 + 2 * ROLLUP_MS)
    ts, values = _read(engine, start=T0 + 150_000, end=T0 + 330_000)
    assert ts == [T0 + i * 15_000 for i in range(10, 23)]
    assert values == [float(i) for i in range(10, 23)]


def test_roll_up_packs_complete_buckets_first(engine):
    sid = _series(engine)
    _land(engine, [(sid, T0 + i * 60_000, float(i)) for i in range(7)])
    assert roll_up(engine, T0 + ROLLUP_MS + 1) == 1  # the first bucket only
    assert _chunks(engine) == (1, 5)
    assert _read(engine)[1] == [float(i) for i in range(7)]


def test_the_migration_packs_stored_samples_and_its_downgrade_unpacks_them(engine):
    sid = _series(engine)
    values = [0.0, 1.0, 2.0, math.nan, 4.0, 5.0, 6.0]
    _land(engine, [(sid, T0 + i * 60_000, v) for i, v in enumerate(values)])
    move_recent(engine, T0 + 2 * ROLLUP_MS)
    cfg = alembic_config()
    with engine.begin() as conn:  # back to one row per sample, in `sample`
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "collector_0003")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT ts_ms, value FROM sample ORDER BY ts_ms")).all()
    assert [tuple(r) for r in rows] == [
        (T0 + i * 60_000, None if math.isnan(v) else v) for i, v in enumerate(values)
    ]
    upgrade(engine)  # and packed again
    assert _chunks(engine) == (2, 7)
    ts, got = _read(engine)
    assert ts == [T0 + i * 60_000 for i in range(7)]
    assert [v for v in got if not math.isnan(v)] == [0.0, 1.0, 2.0, 4.0, 5.0, 6.0]
    assert math.isnan(got[3])
