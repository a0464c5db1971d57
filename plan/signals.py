"""Where plan reads the collector: SLO burn observations for triage, error ratios for
verification. Thin: it evaluates the collector's own SLO expressions and hands plain data on.

Reads go through `core.db.reading(engine)`: the verification probe runs inside the plan's
write transaction, and a second connection asking SQLite for the write lock would wait on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from collector.promql import QueryError, evaluate_instant
from collector.services import ServiceSpec, resolve_conventions, services_with_jobs
from collector.slo import burn_rates, error_budget, error_ratio_expr, request_rate_expr
from collector.storage import DatabaseSource
from collector.targets import list_targets
from core.clock import to_ms
from core.db import reading
from core.durations import format_duration_ms
from plan.triage import SloObservation
from plan.verification import ErrorRatioProbe

RATIO_WINDOW = "1h"


def _scalar(source: DatabaseSource, expr: str, at_ms: int) -> float | None:
    try:
        result = evaluate_instant(expr, source, at_ms)
    except QueryError:
        return None
    if len(result) != 1 or math.isnan(result[0].value):
        return None
    return result[0].value


def watched_services(
    engine: Engine, configured: Sequence[ServiceSpec], now: datetime
) -> list[ServiceSpec]:
    """Configured services plus one per scraped job, matched to the metric names they expose."""
    with Session(reading(engine)) as session:
        jobs = {t.job for t in list_targets(session)}
    raw = DatabaseSource(reading(engine))
    return [resolve_conventions(raw, s, to_ms(now)) for s in services_with_jobs(configured, jobs)]


def slo_observations(
    engine: Engine, services: Sequence[ServiceSpec], now: datetime
) -> list[SloObservation]:
    """Burn rates, budget left and the last hour's error ratio and requests of every SLO."""
    raw = DatabaseSource(reading(engine))
    rollups = DatabaseSource(reading(engine), use_rollups=True)
    now_ms = to_ms(now)
    found = []
    for service in services:
        requests_per_s = _scalar(raw, request_rate_expr(service, RATIO_WINDOW), now_ms)
        for slo in service.slos:
            try:
                rates = burn_rates(raw, service, slo, now_ms)
                budget = error_budget(rollups, service, slo, now_ms)
                if budget.remaining_ratio is None:
                    budget = error_budget(raw, service, slo, now_ms)
            except QueryError:
                continue
            hourly = rates.get(RATIO_WINDOW)
            found.append(
                SloObservation(
                    service=service.name,
                    slo=slo.name,
                    objective=slo.objective,
                    burn_rates=rates,
                    budget_remaining=budget.remaining_ratio,
                    error_ratio=None if hourly is None else hourly * slo.allowed_ratio,
                    requests=None if requests_per_s is None else requests_per_s * 3600,
                )
            )
    return found


def error_ratio_probe(engine: Engine, services: Sequence[ServiceSpec]) -> ErrorRatioProbe:
    """A probe giving an SLO's error ratio over [start, end] from the rollups (raw as fallback)."""
    by_name = {s.name: s for s in services}
    raw = DatabaseSource(reading(engine))
    rollups = DatabaseSource(reading(engine), use_rollups=True)

    def probe(
        service: str, slo_name: str, start: datetime, end: datetime
    ) -> tuple[float, float] | None:
        spec = by_name.get(service)
        slo = next((s for s in spec.slos if s.name == slo_name), None) if spec else None
        if spec is None or slo is None:
            return None
        window = format_duration_ms(max(60_000, to_ms(end) - to_ms(start)))
        expr = error_ratio_expr(spec, slo, window)
        for source in (rollups, raw):
            ratio = _scalar(source, expr, to_ms(end))
            if ratio is not None:
                return max(ratio, 0.0), slo.objective
        return None

    return probe
