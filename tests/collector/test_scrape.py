"""Scrapes against real local HTTP servers: headers, gzip, limits, timeouts, bad targets."""

import math

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from collector.config import JobConfig, ScrapeConfig
from collector.errors import ScrapeError
from collector.fetch import ACCEPT_HEADER, fetch
from collector.models import Series, Target, TargetSource
from collector.pool import ScrapePool
from collector.scrape import SeriesMemo, TargetSpec, scrape_target
from collector.series import Matcher, MatchOp
from collector.storage import DatabaseSource
from collector.targets import ensure_target
from core.clock import utcnow
from tests.collector.metrics_server import OPENMETRICS, Route, metrics_server
from tests.conftest import fixture_path

GOOD = '# TYPE app_requests_total counter\napp_requests_total{code="200"} 7\napp_temp 21.5\n'


def make_target(engine, url, job="app", interval_s=15.0, timeout_s=2.0, labels=None):
    with Session(engine) as session:
        target = ensure_target(
            session,
            job=job,
            url=url,
            labels=labels or {},
            interval_s=interval_s,
            timeout_s=timeout_s,
            source=TargetSource.API,
        )
        session.commit()
        return TargetSpec.of(target)


def series_of(engine, name, **labels):
    matchers = [Matcher("__name__", MatchOp.EQUAL, name)]
    matchers += [Matcher(k, MatchOp.EQUAL, v) for k, v in labels.items()]
    return DatabaseSource(engine).select(matchers, 0, 2**62)


def target_row(engine, target_id):
    with Session(engine) as session:
        return session.get(Target, target_id)


def test_requests_carry_prometheus_headers_and_gzip_is_decoded():
    with metrics_server({"/metrics": Route(body=GOOD, gzip=True)}) as srv:
        body, ctype = fetch(srv.url("/metrics"), timeout_s=3, body_limit_bytes=1 << 20)
    assert body == GOOD and ctype.startswith("text/plain")
    sent = srv.requests[0]
    assert sent["Accept"] == ACCEPT_HEADER
    assert ACCEPT_HEADER.startswith("application/openmetrics-text;version=1.0.0")
    assert sent["Accept-Encoding"] == "gzip"
    assert sent["User-Agent"].startswith("opsloop/")
    assert sent["X-Prometheus-Scrape-Timeout-Seconds"] == "3"


def test_a_huge_body_is_refused_at_the_limit_even_gzipped():
    huge = "a 1\n" * 100_000
    with (
        metrics_server({"/m": Route(body=huge, gzip=True)}) as srv,
        pytest.raises(ScrapeError, match="body size limit exceeded"),
    ):
        fetch(srv.url("/m"), timeout_s=3, body_limit_bytes=64 * 1024)


def test_a_hanging_target_times_out():
    with (
        metrics_server({"/m": Route(delay_s=30)}) as srv,
        pytest.raises(ScrapeError, match="timeout"),
    ):
        fetch(srv.url("/m"), timeout_s=0.3, body_limit_bytes=1 << 20)


def test_a_dripping_target_times_out_over_the_whole_exchange():
    with (
        metrics_server({"/m": Route(body="a 1\n" * 200, delay_s=0.2, drip_bytes=4)}) as srv,
        pytest.raises(ScrapeError, match="timeout"),
    ):
        fetch(srv.url("/m"), timeout_s=0.5, body_limit_bytes=1 << 20)


def test_an_http_error_status_fails_the_scrape():
    with (
        metrics_server({"/m": Route(status=503)}) as srv,
        pytest.raises(ScrapeError, match="HTTP status 503"),
    ):
        fetch(srv.url("/m"), timeout_s=2, body_limit_bytes=1 << 20)


def test_a_scrape_stores_samples_and_the_synthetic_series(engine):
    with metrics_server({"/metrics": Route(body=GOOD)}) as srv:
        target = make_target(engine, srv.url("/metrics"), labels={"team": "web"})
        outcome = scrape_target(engine, target, JobConfig("app"), SeriesMemo(), utcnow)
    assert outcome.up and outcome.scraped == 2 and outcome.post_relabel == 2
    inst = f"127.0.0.1:{srv.port}"
    req = series_of(engine, "app_requests_total")
    assert req[0].labels == {
        "__name__": "app_requests_total",
        "code": "200",
        "job": "app",
        "instance": inst,
        "team": "web",
    }
    for name, value in [
        ("up", 1.0),
        ("scrape_samples_scraped", 2.0),
        ("scrape_samples_post_metric_relabeling", 2.0),
        ("scrape_series_added", 2.0),
    ]:
        (s,) = series_of(engine, name, job="app", instance=inst)
        assert s.values == [value], name
    assert series_of(engine, "scrape_duration_seconds")[0].values[0] >= 0
    row = target_row(engine, target.id)
    assert (row.health, row.last_samples, row.last_error) == ("up", 2, None)


def test_a_malformed_exposition_fails_the_scrape_with_the_line(engine):
    body = 'ok 1\nalso_ok 2\nbroken{x="1" 3\n'
    with metrics_server({"/metrics": Route(body=body)}) as srv:
        target = make_target(engine, srv.url("/metrics"))
        outcome = scrape_target(engine, target, JobConfig("app"), SeriesMemo(), utcnow)
    assert not outcome.up
    row = target_row(engine, target.id)
    assert row.health == "down"
    assert "line 3" in row.last_error and "expected , or }" in row.last_error
    assert series_of(engine, "ok") == []  # nothing of a failed scrape is stored
    assert series_of(engine, "up")[0].values == [0.0]


def test_scraped_labels_that_clash_with_target_labels_become_exported(engine):
    body = 'm{job="inner",instance="x",exported_job="y"} 1\n'
    with metrics_server({"/metrics": Route(body=body)}) as srv:
        target = make_target(engine, srv.url("/metrics"))
        scrape_target(engine, target, JobConfig("app"), SeriesMemo(), utcnow)
    (s,) = series_of(engine, "m")
    # Prometheus: the taken exported_job keeps its value, the clash goes one prefix further
    assert s.labels["job"] == "app" and s.labels["exported_job"] == "y"
    assert s.labels["exported_exported_job"] == "inner" and s.labels["exported_instance"] == "x"


def test_sample_limit_fails_the_scrape(engine):
    with metrics_server({"/metrics": Route(body="a 1\nb 2\nc 3\n")}) as srv:
        target = make_target(engine, srv.url("/metrics"))
        outcome = scrape_target(
            engine, target, JobConfig("app", sample_limit=2), SeriesMemo(), utcnow
        )
    assert "sample_limit exceeded: 3 samples > 2" in outcome.error
    assert series_of(engine, "a") == []


def test_a_flapping_target_marks_its_series_stale_and_back(engine):
    answers = iter([GOOD, None, "app_temp 22\n", GOOD])
    route = Route(body=GOOD)
    memo = SeriesMemo()
    with metrics_server({"/metrics": route}) as srv:
        target = make_target(engine, srv.url("/metrics"))
        ups = []
        stale_names = []
        for answer in answers:
            route.status, route.body = (500, "") if answer is None else (200, answer)
            ups.append(scrape_target(engine, target, JobConfig("app"), memo, utcnow).up)
            with Session(engine) as session:
                stale = session.exec(select(Series).where(Series.stale_at.is_not(None))).all()
                stale_names.append(sorted(s.metric for s in stale))
    assert ups == [True, False, True, True]
    assert stale_names == [
        [],
        ["app_requests_total", "app_temp"],
        ["app_requests_total"],
        [],
    ]


def test_one_pool_tick_with_bad_targets_never_affects_the_good_one(engine):
    routes = {
        "/good": Route(body=GOOD),
        "/slow": Route(body=GOOD, delay_s=0.5),
        "/hang": Route(delay_s=60),
        "/huge": Route(body="x 1\n" * 50_000),
        "/gzip": Route(body=GOOD, gzip=True),
        "/bad": Route(body="good 1\nbad value\n"),
        "/flap": Route(status=500),
    }
    with metrics_server(routes) as srv:
        ids = {
            path: make_target(engine, srv.url(path), job=path.strip("/"), timeout_s=1.5).id
            for path in routes
        }
        config = ScrapeConfig(jobs=(JobConfig("huge", body_limit_bytes=10_000),))
        pool = ScrapePool(engine, config, utcnow, max_workers=8)
        try:
            futures = pool.tick(utcnow(), first_now=True)
            outcomes = {f.result(timeout=30).target_id: f.result() for f in futures}
        finally:
            pool.shutdown()
    assert set(outcomes) == set(ids.values())
    by_path = {path: outcomes[i] for path, i in ids.items()}
    assert [p for p, o in by_path.items() if o.up] == ["/good", "/slow", "/gzip"]
    assert "timeout" in by_path["/hang"].error
    assert "body size limit" in by_path["/huge"].error
    assert "line 2" in by_path["/bad"].error
    assert "HTTP status 500" in by_path["/flap"].error
    for job in ("good", "slow", "gzip"):
        assert series_of(engine, "app_temp", job=job)[0].values == [21.5]


def test_start_offsets_are_stable_and_spread_over_the_interval():
    from collector.pool import offset_ms

    offsets = {offset_ms("job", f"http://10.0.0.{i}:9100/metrics", 15_000) for i in range(50)}
    assert len(offsets) > 40 and all(0 <= o < 15_000 for o in offsets)
    assert offset_ms("a", "u", 15_000) == offset_ms("a", "u", 15_000)


@pytest.mark.parametrize(
    "fixture", ["node_exporter-e2e-output.txt", "prometheus-alltypes.237mfs.prom.txt"]
)
def test_a_fixture_served_over_http_is_stored_exactly_as_prometheus_client_reads_it(
    engine, fixture
):
    body = fixture_path("prometheus", fixture).read_text()
    with metrics_server({"/metrics": Route(body=body, gzip=True)}) as srv:
        target = make_target(engine, srv.url("/metrics"), job="node", timeout_s=10)
        outcome = scrape_target(engine, target, JobConfig("node"), SeriesMemo(), utcnow)
    assert outcome.up, outcome.error
    scrape_ms = int(outcome.started_at.timestamp() * 1000)
    expected = set()
    extra = {"job": "node", "instance": f"127.0.0.1:{srv.port}"}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            labels = {k: v for k, v in s.labels.items() if v}  # Prometheus drops empty labels
            ts = scrape_ms if s.timestamp is None else int(s.timestamp * 1000)
            value = "NaN" if math.isnan(s.value) else s.value
            expected.add((s.name, tuple(sorted({**labels, **extra}.items())), ts, value))
    stored = set()
    synthetic = {
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    }
    for data in DatabaseSource(engine).select([Matcher("job", MatchOp.EQUAL, "node")], 0, 2**62):
        labels = dict(data.labels)
        name = labels.pop("__name__")
        if name in synthetic:
            continue
        for ts, v in zip(data.timestamps_ms, data.values, strict=True):
            stored.add((name, tuple(sorted(labels.items())), ts, "NaN" if math.isnan(v) else v))
    assert stored == expected
    assert outcome.scraped == len(expected)


def test_an_openmetrics_target_is_parsed_as_openmetrics(engine):
    body = fixture_path("prometheus", "prometheus-alltypes.5mfs.om.txt").read_text()
    with metrics_server({"/metrics": Route(body=body, content_type=OPENMETRICS)}) as srv:
        target = make_target(engine, srv.url("/metrics"))
        outcome = scrape_target(engine, target, JobConfig("app"), SeriesMemo(), utcnow)
    assert outcome.up, outcome.error
    (s,) = series_of(engine, "rpc_durations_histogram_seconds_sum")
    assert s.values[0] < 0


def test_due_targets_wait_for_their_offset_and_never_run_twice(engine):
    from datetime import timedelta

    from collector.pool import offset_ms

    url = "http://127.0.0.1:9/metrics"  # never fetched here
    target = make_target(engine, url, interval_s=10.0, timeout_s=1.0)
    pool = ScrapePool(engine, ScrapeConfig(), utcnow)
    offset = offset_ms("app", url, 10_000)
    slot_start = (1_700_000_000_000 // 10_000 + 1) * 10_000 + offset  # a due moment
    at = datetime_of(slot_start)
    assert pool.due_targets(at - timedelta(milliseconds=1)) == []  # first sight: wait
    (due,) = pool.due_targets(at)
    assert due.id == target.id
    assert pool.due_targets(at + timedelta(seconds=9)) == []  # same slot: not again
    pool.running[target.id] = None  # still running when the next slot comes
    assert pool.due_targets(at + timedelta(seconds=10)) == []
    del pool.running[target.id]
    assert [t.id for t in pool.due_targets(at + timedelta(seconds=20))] == [target.id]


def datetime_of(ms):
    from core.clock import from_ms

    return from_ms(ms)


def test_changed_target_labels_reach_the_next_scrape(engine):
    memo = SeriesMemo()
    with metrics_server({"/metrics": Route(body=GOOD)}) as srv:
        target = make_target(engine, srv.url("/metrics"), labels={"env": "a"})
        scrape_target(engine, target, JobConfig("app"), memo, utcnow)
        target = make_target(engine, srv.url("/metrics"), labels={"env": "b"})
        scrape_target(engine, target, JobConfig("app"), memo, utcnow)
    envs = sorted(s.labels["env"] for s in series_of(engine, "app_temp"))
    assert envs == ["a", "b"]


def test_basic_auth_and_authorization_from_the_job_are_sent():
    with metrics_server({"/m": Route(body=GOOD)}) as srv:
        fetch(srv.url("/m?module=x"), timeout_s=2, body_limit_bytes=1 << 20, basic_auth=("u", "p"))
        fetch(
            srv.url("/m"),
            timeout_s=2,
            body_limit_bytes=1 << 20,
            headers={"Authorization": "Bearer tok"},
        )
    assert srv.requests[0]["Authorization"] == "Basic dTpw"
    assert srv.requests[0]["path"] == "/m?module=x"
    assert srv.requests[1]["Authorization"] == "Bearer tok"


def test_metric_relabel_rules_drop_series_before_they_are_stored(engine):
    from collector.relabel import parse_rules

    rules = parse_rules(
        [
            {"source_labels": ["__name__"], "regex": "app_temp", "action": "drop"},
            {"regex": "code", "action": "labeldrop"},
        ],
        "test",
    )
    memo = SeriesMemo()
    with metrics_server({"/metrics": Route(body=GOOD)}) as srv:
        target = make_target(engine, srv.url("/metrics"))
        for _ in range(2):  # the second scrape goes through the memo
            outcome = scrape_target(
                engine, target, JobConfig("app", metric_relabel=rules), memo, utcnow
            )
            assert (outcome.scraped, outcome.post_relabel) == (2, 1)
    assert series_of(engine, "app_temp") == []
    (req,) = series_of(engine, "app_requests_total")
    assert "code" not in req.labels and len(req.values) == 2
    (post,) = series_of(engine, "scrape_samples_post_metric_relabeling")
    assert post.values == [1.0, 1.0]


def test_a_target_that_refuses_connections_says_so():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nobody listens
    with pytest.raises(ScrapeError, match=r"cannot connect: .*refused"):
        fetch(f"http://127.0.0.1:{port}/metrics", timeout_s=2, body_limit_bytes=1 << 20)
