"""The scheduled plan jobs run end to end on a real database."""

import pytest
from sqlmodel import Session, select

from core.config import RawConfig
from opsloop.jobs import plan_jobs
from opsloop.scheduler import run_job
from plan.errors import PlanConfigError
from plan.models import Item
from tests.plan.conftest import NOW


def test_the_plan_jobs_turn_a_firing_alert_into_a_scored_item(runtime, engine, make_alert):
    make_alert()
    jobs = {spec.name: spec for spec in plan_jobs(runtime)}
    assert set(jobs) == {"plan.triage", "plan.slo_triage", "plan.rescore", "plan.verification"}
    runtime.clock = lambda: NOW
    for spec in jobs.values():
        spec.func(runtime)  # directly: the scheduler's wrapper would swallow a failure
    assert run_job(runtime, jobs["plan.triage"])
    with Session(engine) as s:
        (item,) = s.exec(select(Item)).all()
    assert item.kind == "incident" and item.score > 0
    assert item.breakdown["terms"][0]["name"] == "reach"


def test_a_bad_plan_section_stops_the_start_with_its_message(runtime):
    runtime.config = RawConfig(data={"plan": {"half_life": "often"}})
    with pytest.raises(PlanConfigError, match=r"plan\.half_life: expected a duration"):
        plan_jobs(runtime)
