"""SLO burn from the collector's stored samples opens a reliability item; verification reads
the error ratio back from the same samples."""

from datetime import timedelta
from typing import NamedTuple

from sqlmodel import Session, select

from collector.landing import store_samples
from collector.services import load_services
from core.clock import to_ms
from core.config import RawConfig
from plan.config import PlanConfig
from plan.deploys import record_deploy
from plan.items import get_item, ranked_items
from plan.models import Evidence
from plan.periodic import run_triage, run_verification
from plan.signals import error_ratio_probe, slo_observations
from tests.plan.conftest import NOW

CONFIG = RawConfig(
    data={
        "services": [{"name": "webshop", "job": "webshop"}],
        "slos": [
            {
                "name": "availability",
                "service": "webshop",
                "sli": "availability",
                "objective": 0.999,
                "window": "30d",
            }
        ],
    }
)


class S(NamedTuple):
    name: str
    labels: dict[str, str]
    value: float
    timestamp_ms: int | None


def _up(engine, value, start, minutes):
    samples = [
        S("up", {"job": "webshop", "instance": "a:80"}, value, to_ms(start + timedelta(minutes=m)))
        for m in range(minutes)
    ]
    store_samples(engine, None, samples, now_ms=to_ms(start))


def test_a_down_service_burns_its_budget_opens_a_reliability_item_and_ranks_it_first(engine):
    services = load_services(CONFIG)
    _up(engine, 0.0, NOW - timedelta(hours=2), 120)
    observed = slo_observations(engine, services, NOW)
    (obs,) = observed
    assert obs.burn_rates["1h"] > 14.4 and obs.budget_remaining is not None
    assert obs.budget_remaining < 0 and abs(obs.error_ratio - 1.0) < 1e-9
    cfg = PlanConfig()
    run_triage(engine, cfg, NOW, observed)
    with Session(engine) as s:
        (ev,) = s.exec(select(Evidence)).all()
        assert (ev.kind, ev.severity, ev.ref_key) == ("slo_burn", "exhausted", "availability")
        (top,) = ranked_items(s, cfg, NOW)
        assert (
            top.item.kind == "reliability"
            and top.score.policy["reason"] == "error budget exhausted"
        )


def test_verification_reads_the_error_ratio_before_and_after_the_release(engine):
    services = load_services(CONFIG)
    cfg = PlanConfig(watch_window_s=3600)
    _up(engine, 0.0, NOW - timedelta(hours=1), 60)
    run_triage(engine, cfg, NOW, slo_observations(engine, services, NOW))
    with Session(engine) as s:
        (item_id,) = {e.item_id for e in s.exec(select(Evidence))}
        record_deploy(s, service="webshop", version="fix", items=[item_id], cfg=cfg, now=NOW)
        s.commit()
    _up(engine, 1.0, NOW + timedelta(minutes=1), 62)
    counts = run_verification(
        engine, cfg, NOW + timedelta(hours=1, minutes=3), error_ratio_probe(engine, services)
    )
    with Session(engine) as s:
        item = get_item(s, item_id)
    assert counts["verified"] == 1 and item.status == "verified"
    (check,) = item.verdict_data["checks"]
    assert check["signal"] == "slo" and check["after"] == 0.0 and check["before"] > 0.9
