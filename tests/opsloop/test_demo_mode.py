"""Demo mode wiring: the shop runs on a local port, is a scrape target, and brings its SLOs."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from alerts.config import load_alerting_config
from alerts.evaluator import run_rule_group
from alerts.models import Alert
from collector.demo import WebShop
from collector.landing import store_samples
from collector.models import TargetSource
from collector.targets import ensure_target, list_targets
from core.clock import to_ms
from core.config import RawConfig, parse_config
from core.errors import ConfigError
from opsloop.demo import prepare_services, start_demo
from plan.config import PlanConfig
from plan.models import Evidence, Item
from plan.periodic import run_triage


@dataclass(frozen=True)
class Point:
    """One scraped sample, as store_samples takes it."""

    name: str
    value: float
    timestamp_ms: int | None
    labels: dict[str, str] = field(default_factory=dict)


def test_the_demo_shop_serves_metrics_and_is_registered_once(runtime, engine):
    first = start_demo(runtime)
    second = None
    try:
        families = text_string_to_metric_families(requests.get(first.url, timeout=5).text)
        assert "http_requests" in {f.name for f in families}
        # A second start while the first still holds the preferred port: another port,
        # and the target of the first (now stale) shop is replaced, not duplicated.
        second = start_demo(runtime)
        assert second.url != first.url
        with Session(engine) as session:
            targets = list_targets(session, job="webshop")
        assert [(t.url, t.source, t.interval_s) for t in targets] == [(second.url, "demo", 15.0)]
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_demo_services_and_slos_apply_only_when_the_config_has_none(runtime):
    runtime.demo = True
    prepare_services(runtime)
    (shop,) = runtime.areas["services"]
    assert (shop.name, [s.name for s in shop.slos]) == (
        "webshop",
        ["availability", "requests", "latency"],
    )
    runtime.config = parse_config("services: [{name: api, job: api}]")
    prepare_services(runtime)
    assert [s.name for s in runtime.areas["services"]] == ["api"]


def test_a_bad_services_section_stops_start_up_with_a_config_error(runtime):
    runtime.config = RawConfig(data={"services": [{"name": "a", "colour": "red"}]})
    with pytest.raises(ConfigError, match=r"services\[0\]: unknown key\(s\) colour"):
        prepare_services(runtime)


def test_demo_mode_turns_on_the_alert_shorthands_unless_the_config_sets_them(runtime):
    runtime.demo = True
    prepare_services(runtime)
    groups = {g.name for g in load_alerting_config(runtime.config, "http://x").groups}
    assert groups == {"opsloop.target_down", "opsloop.slo_burn.page", "opsloop.slo_burn.ticket"}
    runtime.config = RawConfig(data={"alerting": {"shorthands": {"target_down": True}}})
    prepare_services(runtime)
    groups = {g.name for g in load_alerting_config(runtime.config, "http://x").groups}
    assert groups == {"opsloop.target_down"}


def test_the_demo_incident_fires_a_burn_alert_that_opens_a_plan_item(runtime, engine):
    """Four minutes of the demo shop, its first incident from minute 1: the page-level
    burn alert fires and triage turns it into a reliability item with the alert as evidence."""
    start = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    runtime.demo = True
    prepare_services(runtime)
    (page,) = [
        g
        for g in load_alerting_config(runtime.config, "http://x").groups
        if g.name == "opsloop.slo_burn.page"
    ]
    with Session(engine) as session:
        target = ensure_target(
            session, job="webshop", url="http://127.0.0.1:9/metrics", labels={},
            interval_s=15, timeout_s=10, source=TargetSource.DEMO,
        )  # fmt: skip
        session.commit()
        target_id = target.id
    shop, points = WebShop(start), []
    base = {"job": "webshop", "instance": "127.0.0.1:9"}
    for i in range(4 * 4 + 1):
        at = start + timedelta(seconds=15 * i)
        points.append(Point("up", 1.0, to_ms(at), base))
        for family in text_string_to_metric_families(shop.exposition(at).decode()):
            points += [
                Point(s.name, s.value, to_ms(at), {**s.labels, **base})
                for s in family.samples
                if not s.name.endswith("_created")
            ]
    now = start + timedelta(minutes=4)
    store_samples(engine, target_id, points, to_ms(now))
    run_rule_group(engine, page, now)
    run_triage(engine, PlanConfig(), now)
    with Session(engine) as session:
        firing = session.exec(select(Alert).where(Alert.state == "firing")).all()
        assert {a.alertname for a in firing} == {"SLOErrorBudgetBurn"}
        (item,) = session.exec(select(Item)).all()
        kinds = {e.kind for e in session.exec(select(Evidence).where(Evidence.item_id == item.id))}
    assert (item.service, item.kind) == ("webshop", "reliability") and "alert" in kinds
