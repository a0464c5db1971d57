"""Demo mode wiring: the shop runs on a local port, is a scrape target, and brings its SLOs."""

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from collector.targets import list_targets
from core.config import RawConfig, parse_config
from core.errors import ConfigError
from opsloop.demo import prepare_services, start_demo


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
