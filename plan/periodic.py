"""The plan stage's scheduled work, one transaction per step: triage, rescoring,
regression flags and verification. The scheduler wiring (opsloop/jobs.py) calls these.

On SQLite each step also takes the process's write lock (collector.storage.write_lock), so
that it queues behind this process's scrapes instead of waiting on SQLite's busy timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.engine import Engine

from collector.storage import write_lock
from core.db import session_scope
from plan.config import PlanConfig
from plan.deploys import detect_regressions
from plan.items import rescore
from plan.triage import SloObservation, TriageResult, triage
from plan.verification import ErrorRatioProbe, verify_due

log = logging.getLogger(__name__)


def run_triage(
    engine: Engine, cfg: PlanConfig, now: datetime, slos: Iterable[SloObservation] = ()
) -> TriageResult:
    with write_lock(engine), session_scope(engine) as session:
        result = triage(session, cfg, slos, now)
        if result.evidence_added:
            rescore(session, cfg, now)
    if result.evidence_added:
        log.info(
            "triage added %d evidence to %d item(s)",
            result.evidence_added,
            len(result.items_touched),
        )
    return result


def run_rescore(engine: Engine, cfg: PlanConfig, now: datetime) -> int:
    with write_lock(engine), session_scope(engine) as session:
        return rescore(session, cfg, now)


def run_verification(
    engine: Engine, cfg: PlanConfig, now: datetime, probe: ErrorRatioProbe | None = None
) -> dict[str, int]:
    with write_lock(engine), session_scope(engine) as session:
        flagged = detect_regressions(session, cfg, now)
        counts = verify_due(session, cfg, now, probe)
    for deploy in flagged:
        log.warning("%s", deploy.regression_note)
    return {**counts, "regressions_flagged": len(flagged)}
