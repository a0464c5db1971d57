import math
from typing import NamedTuple

from collector.landing import store_samples
from collector.retention import apply_retention, roll_up
from collector.series import Matcher, MatchOp
from collector.storage import ROLLUP_MS, DatabaseSource

HOUR_MS = 3_600_000
T0 = 1_700_000_400_000 - 1_700_000_400_000 % ROLLUP_MS  # a bucket boundary


class S(NamedTuple):
    name: str
    labels: dict
    value: float
    timestamp_ms: int | None


def _store(engine, name, points, kind):
    store_samples(engine, None, [S(name, {}, v, t) for t, v in points], T0, kinds={name: kind})


def _select(engine, name, rollups):
    src = DatabaseSource(engine, use_rollups=rollups)
    (data,) = src.select([Matcher("__name__", MatchOp.EQUAL, name)], 0, 2**62)
    return data


def test_rollups_keep_min_max_sum_count_last_per_five_minutes(engine):
    step = 60_000
    _store(
        engine,
        "temp",
        [(T0 + i * step, float(v)) for i, v in enumerate([3, 1, 4, 1, 5, 9, 2])],
        "gauge",
    )
    assert roll_up(engine, T0 + 2 * ROLLUP_MS) == 2
    data = _select(engine, "temp", rollups=True)
    assert data.timestamps_ms == [T0, T0 + ROLLUP_MS]
    assert data.values == [5.0, 2.0]  # each bucket's last
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT min, max, sum, count FROM rollup ORDER BY bucket_ms"
        ).all()
    assert [tuple(r) for r in rows] == [(1.0, 5.0, 14.0, 5), (2.0, 9.0, 11.0, 2)]


def test_counter_rollups_stay_monotonic_across_resets(engine):
    # 10, 20, reset to 5, 15 | 25, reset to 3 | 8
    points = [(0, 10), (60, 20), (120, 5), (180, 15), (300, 25), (360, 3), (600, 8)]
    _store(engine, "req_total", [(T0 + s * 1000, float(v)) for s, v in points], "counter")
    roll_up(engine, T0 + ROLLUP_MS)  # first bucket only
    roll_up(engine, T0 + 3 * ROLLUP_MS)  # then the rest, carrying the offset
    data = _select(engine, "req_total", rollups=True)
    # raw increase = 10 + 5 + 10 + 10 + 3 + 5 = 43 over the series starting at 10
    assert data.values == [15 + 20, 3 + 20 + 25, 8 + 45]
    assert data.values[-1] - 10 == 43
    assert data.values == sorted(data.values)


def test_retention_drops_old_raw_samples_but_keeps_rollups(engine):
    _store(engine, "g", [(T0, 1.0), (T0 + 50 * HOUR_MS, 2.0)], "gauge")
    roll_up(engine, T0 + 51 * HOUR_MS)  # a day of buckets per run at most...
    roll_up(engine, T0 + 51 * HOUR_MS)  # ...and the empty stretch is skipped
    now = T0 + 51 * HOUR_MS
    removed = apply_retention(engine, now, raw_keep_s=48 * 3600, rollup_keep_s=90 * 86400)
    assert removed["samples"] == 1
    assert _select(engine, "g", rollups=False).values == [2.0]
    assert _select(engine, "g", rollups=True).values == [1.0, 2.0]
    removed = apply_retention(engine, now + 91 * 86400_000, raw_keep_s=1, rollup_keep_s=86400)
    assert removed["rollups"] == 2 and not math.isnan(removed["samples"])


def test_scraped_samples_move_from_the_landing_table_without_changing_reads(engine):
    from sqlalchemy import func, select

    from collector.landing import insert_samples, move_recent
    from collector.storage import CHUNK, RECENT, ensure_series
    from core.clock import from_ms

    with engine.begin() as conn:
        (sid,), _ = ensure_series(conn, [("scraped", {}, "gauge")], None, from_ms(T0))
        rows = [(sid, T0 + i * 15_000, float(i)) for i in range(30)]  # 7.5 minutes
        insert_samples(conn, rows)
    before = _select(engine, "scraped", rollups=False)
    assert before.values == [float(i) for i in range(30)]
    moved = move_recent(engine, T0 + ROLLUP_MS)  # the complete first bucket only
    assert moved == 20
    assert _select(engine, "scraped", rollups=False) == before
    with engine.connect() as conn:
        packed = conn.execute(select(func.count(), func.sum(CHUNK.c.count))).one()
        landing = conn.execute(select(func.count()).select_from(RECENT)).scalar()
    assert tuple(packed) == (1, 20)  # one chunk: the series' first bucket
    assert landing == 10
    assert roll_up(engine, T0 + ROLLUP_MS) == 1
    assert _select(engine, "scraped", rollups=True).values == [19.0]
