import math
from typing import NamedTuple

from sqlmodel import Session, select

from collector.landing import store_samples
from collector.models import Series, TargetSource
from collector.series import Matcher, MatchOp
from collector.storage import DatabaseSource, canonical_labels
from collector.targets import ensure_target


class S(NamedTuple):
    name: str
    labels: dict[str, str]
    value: float
    timestamp_ms: int | None


def test_stored_samples_read_back_by_matchers(engine):
    samples = [
        S("http_requests_total", {"code": "200", "job": "shop"}, 10.0, 1_000),
        S("http_requests_total", {"code": "500", "job": "shop"}, 2.0, 1_000),
        S("http_requests_total", {"code": "200", "job": "shop"}, 15.0, 2_000),
        S("up", {"job": "shop"}, math.nan, None),
    ]
    result = store_samples(engine, None, samples, now_ms=3_000)
    assert result.stored == 4 and result.series_added == 3
    src = DatabaseSource(engine)
    got = src.select(
        [
            Matcher("__name__", MatchOp.EQUAL, "http_requests_total"),
            Matcher("code", MatchOp.REGEX, "2.."),
        ],
        0,
        10_000,
    )
    assert len(got) == 1
    assert got[0].labels == {"__name__": "http_requests_total", "code": "200", "job": "shop"}
    assert got[0].timestamps_ms == [1_000, 2_000] and got[0].values == [10.0, 15.0]
    up = src.select([Matcher("__name__", MatchOp.EQUAL, "up")], 0, 10_000)
    assert up[0].timestamps_ms == [3_000] and math.isnan(up[0].values[0])
    # a missing label matches ""
    none = src.select([Matcher("instance", MatchOp.NOT_EQUAL, "")], 0, 10_000)
    assert none == []


def test_storing_the_same_samples_twice_adds_nothing(engine):
    s = [S("a", {"x": "1"}, 1.0, 5)]
    store_samples(engine, None, s, now_ms=10)
    again = store_samples(engine, None, s, now_ms=10)
    assert again.series_added == 0
    data = DatabaseSource(engine).select([Matcher("__name__", MatchOp.EQUAL, "a")], 0, 100)
    assert data[0].values == [1.0]
    with Session(engine) as session:
        rows = session.exec(select(Series)).all()
        assert [r.labels for r in rows] == [canonical_labels({"x": "1"})]


def test_ensure_target_is_an_idempotent_upsert(engine):
    with Session(engine) as session:
        a = ensure_target(
            session,
            job="shop",
            url="http://127.0.0.1:9/metrics",
            labels={"env": "demo"},
            interval_s=15,
            timeout_s=5,
            source=TargetSource.DEMO,
        )
        b = ensure_target(
            session,
            job="shop",
            url="http://127.0.0.1:9/metrics",
            labels={"env": "prod"},
            interval_s=30,
            timeout_s=5,
            source=TargetSource.DEMO,
        )
        session.commit()
        assert a.id == b.id
        assert b.interval_s == 30 and b.labels == '{"env":"prod"}'
