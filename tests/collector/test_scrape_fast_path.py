"""The scraper's steady state: known series read by split_known, scrapes written in groups."""

import math
from concurrent.futures import Future
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlmodel import Session

from collector.config import JobConfig, ScrapeConfig
from collector.exposition import parse_text, split_known
from collector.models import SampleBatch, SampleRecent, ScrapeRun, Series, Target
from collector.pool import ScrapePool, ScrapeWriter
from collector.relabel import parse_rules
from collector.scrape import SeriesMemo, collect, scrape_target, store_scrapes
from collector.storage import forget_series_ids
from core.clock import utcnow
from tests.collector.metrics_server import Route, metrics_server
from tests.collector.test_scrape import make_target, series_of

BODY = (
    "# HELP a_total Things.\n# TYPE a_total counter\n"
    'a_total{x="1"} 5\na_total{x="2"} NaN\n# a plain comment\nb 7\n'
)


def known_of(body):
    return {key: i for i, key in enumerate(parse_text(body).keys)}


def test_split_known_reads_ids_and_values_of_known_series():
    ids, values = split_known(BODY.replace(" 5\n", " +Inf\n"), known_of(BODY))
    assert ids == [0, 1, 2]
    assert values[0] == math.inf and math.isnan(values[1]) and values[2] == 7.0


@pytest.mark.parametrize(
    "body",
    [
        BODY + "c 1\n",  # a series it does not know
        BODY.replace("b 7", "b 7 1700000000000"),  # a timestamp
        BODY.replace("b 7", "b 1_0"),  # Go's ParseFloat refuses digit grouping
        BODY.replace("b 7", "b seven"),
        BODY.replace("counter", "countr"),  # an unknown metric type
        BODY.replace("# HELP a_total Things.", "# HELP"),  # metadata without a name
        BODY + "\n",  # a blank line
        # one line without a space and one with two must not pair up across lines
        BODY.replace('a_total{x="1"} 5\n', 'a_total{x="1"}\n').replace("b 7", "b 7 8"),
    ],
)
def test_split_known_leaves_anything_else_to_the_parser(body):
    assert split_known(body, known_of(BODY)) is None


def test_steady_state_scrapes_store_what_the_parser_reads_and_fail_on_a_bad_type(engine):
    route = Route(body=BODY)
    memo = SeriesMemo()
    drop_b = parse_rules([{"action": "drop", "source_labels": ["__name__"], "regex": "b"}], "t")
    job = JobConfig("app", metric_relabel=drop_b)
    with metrics_server({"/metrics": route}) as srv:
        target = make_target(engine, srv.url("/metrics"))
        first = scrape_target(engine, target, job, memo, utcnow)
        route.body = BODY.replace(" 5\n", " 6\n")
        item = collect(target, job, memo, utcnow)
        assert item.known is not None  # the second scrape took the fast path
        route.body = BODY.replace("counter", "countr")
        broken = scrape_target(engine, target, job, memo, utcnow)

        store_scrapes(engine, [item])
    assert (first.scraped, first.post_relabel) == (3, 2)
    assert (item.outcome.scraped, item.outcome.post_relabel, item.outcome.up) == (3, 2, True)
    assert not broken.up and "unknown metric type" in broken.error
    assert series_of(engine, "a_total", x="1")[0].values == [5.0, 6.0]
    assert len(series_of(engine, "a_total", x="2")[0].values) == 2
    assert series_of(engine, "b") == []


def test_the_writer_stores_every_scrape_and_skips_a_removed_target(engine):
    with metrics_server({"/a": Route(body=BODY), "/b": Route(body="b 1\n")}) as srv:
        ta = make_target(engine, srv.url("/a"), job="a")
        tb = make_target(engine, srv.url("/b"), job="b")
        tc = make_target(engine, srv.url("/b"), job="c")
        items = [collect(t, JobConfig(t.job), SeriesMemo(), utcnow) for t in (ta, tb, tc)]
    with Session(engine) as session:
        session.delete(session.get(Target, tc.id))
        session.commit()
    writer = ScrapeWriter(engine)
    futures = [Future() for _ in items]
    for item, future in zip(items, futures, strict=True):
        writer.put(item, future)
    outcomes = [f.result(timeout=30) for f in futures]
    writer.close()
    assert [o.up for o in outcomes] == [True, True, False]
    assert "removed" in outcomes[2].error
    assert series_of(engine, "a_total", job="a", x="1")[0].values == [5.0]
    assert series_of(engine, "b", job="b")[0].values == [1.0]
    assert series_of(engine, "up", job="a")[0].values == [1.0]
    with Session(engine) as session:
        runs = session.exec(select(ScrapeRun.target_id, func.count()).group_by(ScrapeRun.target_id))
        assert dict(runs.all()) == {ta.id: 1, tb.id: 1}
        assert session.get(Target, tb.id).last_samples == 1


def test_a_pool_tick_writes_targets_together_and_keeps_each_ones_samples(engine):
    bodies = {f"/t{i}": Route(body=f'm{{i="{i}"}} {i}\n') for i in range(6)}
    with metrics_server(bodies) as srv:
        for path in bodies:
            make_target(engine, srv.url(path), job=path.strip("/"))
        pool = ScrapePool(engine, ScrapeConfig(), utcnow, max_workers=4)
        try:
            for tick_at in (utcnow(), utcnow() + timedelta(seconds=15)):  # two slots
                outcomes = [f.result(timeout=30) for f in pool.tick(tick_at, first_now=True)]
                assert all(o.up for o in outcomes) and len(outcomes) == 6
        finally:
            pool.shutdown()
    for i in range(6):
        assert series_of(engine, "m", job=f"t{i}")[0].values == [float(i), float(i)]


@pytest.mark.parametrize("timestamps", [False, True])
def test_a_scrape_read_with_ids_that_were_forgotten_is_stored_with_its_labels(engine, timestamps):
    # with timestamps the body is not in split_known's shape and parse_text reads it with the
    # memo's keys (leaving their labels out); either way, ids forgotten in between (a
    # rollback, retention deleting series) mean the body is read afresh when written
    body = 'c{x="1"} 1 1700000000000\n' if timestamps else 'c{x="1"} 1\n'
    memo = SeriesMemo()
    with metrics_server({"/m": Route(body=body)}) as srv:
        target = make_target(engine, srv.url("/m"))
        scrape_target(engine, target, JobConfig("app"), memo, utcnow)
        with Session(engine) as session:  # as retention would, with the series gone
            session.exec(delete(SampleRecent))
            session.exec(delete(SampleBatch))
            session.exec(delete(Series))
            session.commit()
        item = collect(target, JobConfig("app"), memo, utcnow)
        assert (item.known is not None) is not timestamps
        forget_series_ids(engine)
        store_scrapes(engine, [item])
    assert item.outcome.up, item.outcome.error
    (c,) = series_of(engine, "c", x="1", job="app")
    assert c.values == [1.0]
