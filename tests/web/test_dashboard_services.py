"""The services pages render real data stored in the database (SQLite and PostgreSQL)."""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from collector.demo import WebShop
from collector.landing import store_samples
from collector.models import TargetSource
from collector.targets import ensure_target
from core.clock import to_ms
from plan.config import PlanConfig
from plan.deploys import record_deploy

START = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
MINUTES = 12
NOW = START + timedelta(minutes=MINUTES)


@dataclass(frozen=True)
class Point:
    name: str
    value: float
    timestamp_ms: int | None
    labels: dict[str, str] = field(default_factory=dict)


def scrape_points(shop: WebShop, at: datetime) -> list[Point]:
    base = {"job": "webshop", "instance": "127.0.0.1:9"}
    points = [Point("up", 1.0, to_ms(at), base)]
    for family in text_string_to_metric_families(shop.exposition(at).decode()):
        for s in family.samples:
            if not s.name.endswith("_created"):
                points.append(Point(s.name, s.value, to_ms(at), {**s.labels, **base}))
    return points


@pytest.fixture
def shop_data(engine, runtime):
    """12 minutes of the demo shop scraped every 15 s; its first incident starts at 1 minute."""
    with Session(engine) as session:
        target = ensure_target(
            session, job="webshop", url="http://127.0.0.1:9/metrics", labels={},
            interval_s=15, timeout_s=10, source=TargetSource.DEMO,
        )  # fmt: skip
        record_deploy(
            session, service="webshop", version="v2.4.1", cfg=PlanConfig(), now=NOW,
            at=START + timedelta(minutes=5),
        )  # fmt: skip
        session.commit()
        target_id = target.id
    shop = WebShop(START)
    points = []
    for i in range(MINUTES * 4 + 1):
        points += scrape_points(shop, START + timedelta(seconds=15 * i))
    store_samples(engine, target_id, points, to_ms(NOW))
    runtime.clock = lambda: NOW
    return shop


def test_overview_shows_each_service_with_its_numbers(auth_client, shop_data):
    response = auth_client.get("/services/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    row = html[html.index(">webshop<") :]
    # Inside the incident: 15 % of answers fail, so the shop is degraded and says why.
    assert 'class="badge degraded"' in row
    assert "of requests failed over 5m" in row
    assert "100.00 %" in row  # availability: the one target is up
    error_ratio = float(re.search(r"<td>(\d+\.\d+) %</td>\s*<td>\d+ ms", row).group(1))
    assert 8 < error_ratio < 25
    assert "<polyline" in row  # the sparkline of the last hour
    # The budget shown is that of the SLO with the least left: latency here (the incident
    # slows answers down), from the default SLOs of a service by convention.
    budget = re.search(r'(-?\d+\.\d) %</span>\s*<div class="hint">(\w+)</div>', row)
    assert budget and budget.group(2) == "latency"
    assert float(budget.group(1)) < 100


def test_service_page_has_charts_with_data_slos_and_deploy_markers(auth_client, shop_data):
    response = auth_client.get("/services/webshop?range=1h")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    figures = {
        key: json.loads(body)
        for key, body in re.findall(
            r'<script type="application/json" id="figure-(\w+)">(.*?)</script>', html, re.S
        )
    }
    assert set(figures) == {"requests", "errors", "latency", "budget", "usage"}
    requests = figures["requests"]["data"]
    assert [t["name"] for t in requests] == ["all", "5xx"]
    rates = [y for y in requests[0]["y"] if y is not None]
    assert rates and all(2 < y < 30 for y in rates)  # 3 to 20 requests/s by time of day
    assert [t["name"] for t in figures["latency"]["data"]] == ["p50", "p95", "p99"]
    assert {t["name"] for t in figures["budget"]["data"]} >= {"availability (99.90%)"}
    shapes = figures["requests"]["layout"]["shapes"]
    assert [s["x0"] for s in shapes] == ["2026-03-02 13:05:00"]
    assert "deploy v2.4.1" in html
    # webshop is not in config: a service by convention, with the default SLOs.
    for slo in ("availability", "latency"):
        assert f"<strong>{slo}</strong>" in html
    assert "Burn 3d" in html
    assert 'href="/targets/"' in html


def test_long_ranges_read_rollups_and_fall_back_to_raw_samples(auth_client, shop_data):
    response = auth_client.get("/services/webshop?range=7d")
    assert response.status_code == 200
    assert "from 5-minute rollups" in response.get_data(as_text=True)


def test_unknown_service_and_bad_range_are_refused(auth_client, shop_data):
    assert auth_client.get("/services/nope").status_code == 404
    bad = auth_client.get("/services/webshop?range=2y")
    assert bad.status_code == 400
    assert "range must be one of 1h, 6h, 24h, 7d, 30d" in bad.get_data(as_text=True)


def test_overview_without_any_target_explains_where_services_come_from(auth_client):
    html = auth_client.get("/services/").get_data(as_text=True)
    assert "No service yet" in html


def test_the_overview_page_shows_the_state_of_each_service(auth_client, shop_data):
    html = auth_client.get("/").get_data(as_text=True)
    assert re.search(
        r'<span class="badge degraded" title="[^"]*failed[^"]*">webshop: degraded', html
    )
