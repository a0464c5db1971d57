"""Scheduler wiring: APScheduler runs each JobSpec and records its outcome as a metric."""

from __future__ import annotations

import logging
import zlib

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import text

from core.runtime import Runtime
from opsloop.jobs import JobSpec, all_jobs

log = logging.getLogger(__name__)


def build_scheduler(
    runtime: Runtime, *, blocking: bool = False, jobs: list[JobSpec] | None = None
) -> BaseScheduler:
    scheduler: BaseScheduler = (
        BlockingScheduler(timezone="UTC") if blocking else BackgroundScheduler(timezone="UTC")
    )
    for spec in all_jobs(runtime) if jobs is None else jobs:
        scheduler.add_job(
            run_job,
            "interval",
            seconds=spec.interval_s,
            args=(runtime, spec),
            id=spec.name,
            name=spec.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=runtime.now(),
        )
    return scheduler


def run_job(runtime: Runtime, spec: JobSpec) -> bool:
    """Run one job; True when it ran, False when another worker holds its lock.

    This is a process edge: any exception is counted, logged with its traceback and
    swallowed so that the scheduler keeps the job.
    """
    try:
        with runtime.metrics.time_job(spec.name):
            if spec.singleton and runtime.engine.dialect.name == "postgresql":
                return _run_locked(runtime, spec)
            spec.func(runtime)
            return True
    except Exception:
        log.exception("job %s failed", spec.name)
        return True


def _run_locked(runtime: Runtime, spec: JobSpec) -> bool:
    key = zlib.crc32(f"opsloop-job:{spec.name}".encode())
    with runtime.engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        if not got:
            return False
        try:
            spec.func(runtime)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
        return True
