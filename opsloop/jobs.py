"""Scheduled jobs: each is a thin wrapper that calls one domain function of an area."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from core.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[[Runtime], object]
    interval_s: float
    # Singleton jobs must run on one worker at a time (a PostgreSQL advisory lock when
    # several workers share a database).
    singleton: bool = True


def collector_jobs(runtime: Runtime) -> list[JobSpec]:
    """Target sync (config, file_sd, self), a 1 s scrape tick, rollups and retention."""
    from collector import runner

    runner.collector_state(runtime)  # a bad scrape config stops the start with its message
    return [
        JobSpec("collector.targets", runner.sync_targets, runner.TARGET_SYNC_S),
        # every worker ticks: each slot of a target is claimed in the database by one of them
        JobSpec(
            "collector.scrape", runner.scrape_due_targets, runner.SCRAPE_TICK_S, singleton=False
        ),
        JobSpec("collector.rollups", runner.roll_up_and_retain, runner.ROLLUP_EVERY_S),
    ]


def alerts_jobs(runtime: Runtime) -> list[JobSpec]:
    """One evaluation job per rule group (at its interval), and notification dispatch."""
    from alerts.config import alerting_for
    from alerts.dispatch import DISPATCH_INTERVAL_S, run_dispatch
    from alerts.evaluator import run_orphan_check, run_rule_group
    from alerts.rules import RuleGroup

    def rule_job(group: RuleGroup) -> Callable[[Runtime], object]:
        return lambda rt: run_rule_group(rt.engine, group, rt.now())

    def dispatch(rt: Runtime) -> object:
        return run_dispatch(rt.engine, alerting_for(rt).dispatch, rt.now())

    config = alerting_for(runtime)
    jobs = [
        JobSpec(f"alerts.rules.{g.name}", rule_job(g), config.interval_of(g)) for g in config.groups
    ]
    jobs.append(JobSpec("alerts.dispatch", dispatch, DISPATCH_INTERVAL_S))
    jobs.append(
        JobSpec(
            "alerts.orphans",
            lambda rt: run_orphan_check(rt.engine, alerting_for(rt).groups, rt.now()),
            60.0,
        )
    )
    return jobs


def feedback_jobs(runtime: Runtime) -> list[JobSpec]:
    """Poll each feedback source, cluster new feedback into themes; a demo stream with --demo."""
    from core.errors import ConfigError
    from feedback.errors import FeedbackConfigError
    from feedback.runs import CLUSTER_INTERVAL_S, POLL_CHECK_S, FeedbackRuns

    try:
        runs = FeedbackRuns.from_config(runtime.config)
    except FeedbackConfigError as exc:
        raise ConfigError(str(exc)) from exc
    runtime.areas["feedback_runs"] = runs
    jobs = [
        JobSpec("feedback.poll", lambda rt: runs.poll_all(rt.engine, rt.now()), POLL_CHECK_S),
        JobSpec(
            "feedback.themes", lambda rt: runs.cluster(rt.engine, rt.now()), CLUSTER_INTERVAL_S
        ),
    ]
    if runtime.demo:
        from feedback.demo import INTERVAL_S

        jobs.append(JobSpec("feedback.demo", lambda rt: runs.demo(rt.engine, rt.now()), INTERVAL_S))
    return jobs


def plan_jobs(runtime: Runtime) -> list[JobSpec]:
    """Triage (alerts, themes: every minute; SLO burn: every 5 minutes), rescoring,
    regression flags and verification."""
    from collector.services import ServiceSpec, load_services
    from plan.config import plan_config_for
    from plan.periodic import run_rescore, run_triage, run_verification
    from plan.signals import error_ratio_probe, slo_observations, watched_services

    plan_config_for(runtime)  # a bad `plan:` section stops the start with its message

    def services(rt: Runtime) -> list[ServiceSpec]:
        configured = rt.areas.get("services")
        return watched_services(rt.engine, configured or load_services(rt.config), rt.now())

    def slo_triage(rt: Runtime) -> object:
        observed = slo_observations(rt.engine, services(rt), rt.now())
        return run_triage(rt.engine, plan_config_for(rt), rt.now(), observed)

    def verification(rt: Runtime) -> object:
        probe = error_ratio_probe(rt.engine, services(rt))
        return run_verification(rt.engine, plan_config_for(rt), rt.now(), probe)

    def triage(rt: Runtime) -> object:
        return run_triage(rt.engine, plan_config_for(rt), rt.now())

    def rescore(rt: Runtime) -> object:
        return run_rescore(rt.engine, plan_config_for(rt), rt.now())

    return [
        JobSpec("plan.triage", triage, 60),
        JobSpec("plan.slo_triage", slo_triage, 300),
        JobSpec("plan.rescore", rescore, 300),
        JobSpec("plan.verification", verification, 600),
    ]


def all_jobs(runtime: Runtime) -> list[JobSpec]:
    return [
        *collector_jobs(runtime),
        *alerts_jobs(runtime),
        *feedback_jobs(runtime),
        *plan_jobs(runtime),
    ]
