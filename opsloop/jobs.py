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
    return []


def alerts_jobs(runtime: Runtime) -> list[JobSpec]:
    return []


def feedback_jobs(runtime: Runtime) -> list[JobSpec]:
    return []


def plan_jobs(runtime: Runtime) -> list[JobSpec]:
    return []


def all_jobs(runtime: Runtime) -> list[JobSpec]:
    return [
        *collector_jobs(runtime),
        *alerts_jobs(runtime),
        *feedback_jobs(runtime),
        *plan_jobs(runtime),
    ]
