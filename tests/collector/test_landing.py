"""Where scraped samples land (a batch per scrape, or rows) and how they move into chunks."""

import math
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlmodel import Session

from collector.config import JobConfig
from collector.landing import move_recent
from collector.models import Target
from collector.scrape import SeriesMemo, scrape_target
from collector.storage import BATCH, CHUNK, RECENT, ROLLUP_MS
from core.clock import from_ms, to_ms
from tests.collector.metrics_server import Route, metrics_server
from tests.collector.test_scrape import make_target, series_of

T0 = from_ms(1_700_000_400_000 - 1_700_000_400_000 % ROLLUP_MS)  # a bucket boundary


def _counts(engine):
    with engine.connect() as conn:
        return {
            "batches": conn.execute(select(func.count()).select_from(BATCH)).scalar(),
            "rows": conn.execute(select(func.count()).select_from(RECENT)).scalar(),
            "chunks": conn.execute(select(func.count()).select_from(CHUNK)).scalar(),
        }


def _scrape(engine, target, at, memo, job=None):
    outcome = scrape_target(engine, target, job or JobConfig("app"), memo, lambda: at)
    assert outcome.up, outcome.error
    return outcome


def test_a_scrape_lands_as_one_batch_and_moves_into_a_chunk_per_series(engine):
    route = Route(body='a{x="1"} 1\na{x="2"} NaN\nb 3\n')
    memo = SeriesMemo()
    with metrics_server({"/m": route}) as srv:
        target = make_target(engine, srv.url("/m"))
        for i in range(3):  # the first read by the parser, then by split_known
            route.body = f'a{{x="1"}} {i}\na{{x="2"}} NaN\nb 3\n'
            _scrape(engine, target, T0 + timedelta(seconds=15 * i), memo)
    assert _counts(engine) == {"batches": 3, "rows": 0, "chunks": 0}
    (a1,) = series_of(engine, "a", x="1")
    assert a1.values == [0.0, 1.0, 2.0]
    assert a1.timestamps_ms == [to_ms(T0) + 15_000 * i for i in range(3)]
    assert move_recent(engine, to_ms(T0) + ROLLUP_MS) == 3 * (3 + 5)  # + synthetic series
    assert _counts(engine) == {"batches": 0, "rows": 0, "chunks": 3 + 5}
    (a1_after,) = series_of(engine, "a", x="1")
    assert a1_after == a1
    (a2,) = series_of(engine, "a", x="2")
    assert len(a2.values) == 3 and all(math.isnan(v) for v in a2.values)
    (up,) = series_of(engine, "up", job="app")
    assert up.values == [1.0, 1.0, 1.0]


def test_a_move_splits_a_run_of_scrapes_at_the_bucket_boundary(engine):
    route = Route(body="g 1\n")
    memo = SeriesMemo()
    with metrics_server({"/m": route}) as srv:
        target = make_target(engine, srv.url("/m"))
        for minute in range(0, 8):  # 5 minutes in the first bucket, 3 in the next
            route.body = f"g {minute}\n"
            _scrape(engine, target, T0 + timedelta(minutes=minute), memo)
    assert move_recent(engine, to_ms(T0) + 2 * ROLLUP_MS) == 8 * 6
    with engine.connect() as conn:
        sizes = conn.execute(select(CHUNK.c.bucket_ms, CHUNK.c.count).distinct()).all()
    assert sorted(tuple(r) for r in sizes) == [(to_ms(T0), 5), (to_ms(T0) + ROLLUP_MS, 3)]
    (g,) = series_of(engine, "g")
    assert g.values == [float(m) for m in range(8)]


def test_samples_with_a_timestamp_of_their_own_land_row_by_row(engine):
    stamp = to_ms(T0) + 7_000
    route = Route(body=f"a 1\nb 2 {stamp}\n")
    with metrics_server({"/m": route}) as srv:
        target = make_target(engine, srv.url("/m"))
        outcome = _scrape(engine, target, T0 + timedelta(seconds=30), SeriesMemo())
    assert outcome.post_relabel == 2
    assert _counts(engine) == {"batches": 1, "rows": 1, "chunks": 0}
    (b,) = series_of(engine, "b")
    assert (b.timestamps_ms, b.values) == ([stamp], [2.0])


def test_a_series_twice_in_one_scrape_keeps_its_first_sample(engine):
    route = Route(body="a 1\na 2\n")
    with metrics_server({"/m": route}) as srv:
        target = make_target(engine, srv.url("/m"))
        _scrape(engine, target, T0, SeriesMemo())
    (a,) = series_of(engine, "a")
    assert a.values == [1.0]
    move_recent(engine, to_ms(T0) + ROLLUP_MS)
    (a,) = series_of(engine, "a")
    assert a.values == [1.0]


def test_a_series_another_target_owns_is_read_before_and_after_the_move(engine):
    # with honor_labels, two targets can expose the very same series: the first one
    # scraped owns it, the other's samples of it land row by row
    series = 'shared{job="app",instance="one"}'
    honor = JobConfig("app", honor_labels=True)
    first, second = Route(body=f"{series} 1\n"), Route(body=f"{series} 2\n")
    with metrics_server({"/1": first, "/2": second}) as srv:
        t1 = make_target(engine, srv.url("/1"))
        t2 = make_target(engine, srv.url("/2"))
        _scrape(engine, t1, T0, SeriesMemo(), honor)
        _scrape(engine, t2, T0 + timedelta(seconds=5), SeriesMemo(), honor)
    (shared,) = series_of(engine, "shared")
    assert shared.values == [1.0, 2.0]
    # both targets are one host, so one instance: t1 owns t2's synthetic series too
    assert _counts(engine)["rows"] == 1 + 5
    (up,) = series_of(engine, "up")
    assert up.values == [1.0, 1.0]
    move_recent(engine, to_ms(T0) + ROLLUP_MS)
    (shared,) = series_of(engine, "shared")
    assert shared.values == [1.0, 2.0]


def test_the_batches_of_a_deleted_target_are_still_read(engine):
    route = Route(body="kept 4\n")
    with metrics_server({"/m": route}) as srv:
        target = make_target(engine, srv.url("/m"))
        _scrape(engine, target, T0, SeriesMemo())
    with Session(engine) as session:
        session.exec(delete(Target))  # its series lose their owner (SET NULL)
        session.commit()
    (kept,) = series_of(engine, "kept")
    assert kept.values == [4.0]
    assert move_recent(engine, to_ms(T0) + ROLLUP_MS) == 6
    (kept,) = series_of(engine, "kept")
    assert kept.values == [4.0]
