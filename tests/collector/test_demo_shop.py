"""The demo web shop: valid exposition over real HTTP, daily rhythm, incidents with more errors."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.serving import make_server

from collector.demo import (
    FIRST_INCIDENT_AFTER_S,
    INCIDENT_PERIOD_S,
    INCIDENT_S,
    WebShop,
    in_incident,
    make_wsgi_app,
    traffic_at,
)

# 2026-01-05 00:00 UTC is a multiple of the incident period away from this instant:
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def quiet_start() -> datetime:
    """A moment outside any periodic incident, the shop started an hour before."""
    base = START.timestamp()
    phase = base % INCIDENT_PERIOD_S
    return datetime.fromtimestamp(base - phase + INCIDENT_S + 60, UTC)


def errors_and_total(shop: WebShop) -> tuple[float, float]:
    errors = total = 0.0
    for family in text_string_to_metric_families(shop.exposition(shop._simulated_to).decode()):
        if family.name == "http_requests":
            for sample in family.samples:
                if sample.name == "http_requests_total":
                    total += sample.value
                    errors += sample.value if sample.labels["code"].startswith("5") else 0
    return errors, total


def test_the_shop_is_busier_by_day_than_by_night():
    started = START - timedelta(days=1)
    night = traffic_at(datetime(2026, 1, 5, 2, 0, tzinfo=UTC), started)
    day = traffic_at(datetime(2026, 1, 5, 14, 0, tzinfo=UTC), started)
    assert night.requests_per_s == pytest.approx(3.0)
    assert day.requests_per_s == pytest.approx(20.0)
    assert day.latency_factor > night.latency_factor


def test_an_incident_comes_a_minute_after_start_and_then_every_65_minutes():
    quiet = quiet_start()
    started = quiet - timedelta(hours=1)
    assert not in_incident(quiet, started)
    fresh = quiet - timedelta(seconds=FIRST_INCIDENT_AFTER_S + 1)
    assert in_incident(quiet, fresh)
    next_periodic = datetime.fromtimestamp(
        quiet.timestamp() - quiet.timestamp() % INCIDENT_PERIOD_S + INCIDENT_PERIOD_S, UTC
    )
    assert in_incident(next_periodic + timedelta(minutes=9), started)
    assert not in_incident(next_periodic + timedelta(minutes=11), started)


def test_error_ratio_is_higher_inside_an_incident_than_outside():
    quiet = quiet_start()
    calm = WebShop(quiet - timedelta(hours=1))
    calm.advance(quiet - timedelta(minutes=1))
    before = errors_and_total(calm)
    calm.advance(quiet + timedelta(minutes=8))
    after = errors_and_total(calm)
    calm_ratio = (after[0] - before[0]) / (after[1] - before[1])

    # Started now: its first incident runs from 1 to 11 minutes after start.
    stormy = WebShop(quiet)
    stormy.advance(quiet + timedelta(minutes=1))
    before = errors_and_total(stormy)
    stormy.advance(quiet + timedelta(minutes=9))
    after = errors_and_total(stormy)
    incident_ratio = (after[0] - before[0]) / (after[1] - before[1])

    assert after[1] - before[1] > 1000  # enough requests for the ratios to mean something
    assert calm_ratio < 0.01
    assert incident_ratio > 0.10


def test_the_same_scrape_times_give_the_same_numbers():
    quiet = quiet_start()
    first, second = WebShop(quiet), WebShop(quiet)
    for shop in (first, second):
        shop.advance(quiet + timedelta(minutes=3))

    def numbers(shop: WebShop) -> list[str]:
        # *_created carries the wall-clock time the counter object was made: leave it out.
        text = shop.exposition(quiet + timedelta(minutes=3)).decode()
        return [line for line in text.splitlines() if "_created" not in line]

    assert numbers(first) == numbers(second)
    assert any(line.startswith("http_requests_total{") for line in numbers(first))


def test_metrics_over_http_are_a_valid_exposition_with_the_expected_families():
    quiet = quiet_start()
    now = [quiet + timedelta(minutes=5)]
    shop = WebShop(quiet)
    server = make_server("127.0.0.1", 0, make_wsgi_app(shop, lambda: now[0]), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        response = requests.get(f"{base}/metrics", timeout=5)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        families = {f.name: f for f in text_string_to_metric_families(response.text)}
        assert families["http_requests"].type == "counter"
        assert families["http_request_duration_seconds"].type == "histogram"
        assert {"process_cpu_seconds", "process_resident_memory_bytes"} <= set(families)
        routes = {s.labels["route"] for s in families["http_requests"].samples}
        assert "/checkout" in routes
        first_total = sum(
            s.value for s in families["http_requests"].samples if s.name.endswith("_total")
        )
        now[0] += timedelta(seconds=15)
        again = text_string_to_metric_families(requests.get(f"{base}/metrics", timeout=5).text)
        second_total = sum(
            s.value
            for f in again
            if f.name == "http_requests"
            for s in f.samples
            if s.name.endswith("_total")
        )
        assert second_total > first_total  # 15 s of traffic was simulated in between
        assert requests.get(f"{base}/nope", timeout=5).status_code == 404
    finally:
        server.shutdown()
        thread.join(timeout=5)
