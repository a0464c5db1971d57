"""What the services pages show: the service list, each one's current numbers, its charts' data.

Reads through DatabaseSource; error budgets and burn-down read the 5-minute rollups (their
windows span weeks) and fall back to raw samples while no rollup exists yet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select

from collector.errors import ServiceConfigError
from collector.health import Health, HealthState, service_health
from collector.promql import QueryError, evaluate_instant, evaluate_range
from collector.series import SeriesData, SeriesSource
from collector.services import (
    ServiceSpec,
    load_services,
    resolve_conventions,
    services_with_jobs,
    signal_expr,
)
from collector.slo import BudgetStatus, SloSpec, budget_remaining_series, burn_rates, error_budget
from collector.storage import DatabaseSource
from collector.targets import list_targets
from core.clock import from_ms
from plan.models import Deploy
from web.state import db, runtime

RESOLVE_TTL_MS = 60_000
SPARK_RANGE_MS = 3_600_000
SPARK_STEP_MS = 30_000


@dataclass(frozen=True)
class TimeRange:
    label: str
    range_ms: int
    step_ms: int
    window: str  # rate() window: a few scrape intervals, or several rollup buckets
    rollups: bool


RANGES = {
    r.label: r
    for r in (
        TimeRange("1h", 3_600_000, 30_000, "2m", False),
        TimeRange("6h", 6 * 3_600_000, 120_000, "5m", False),
        TimeRange("24h", 86_400_000, 600_000, "10m", False),
        TimeRange("7d", 7 * 86_400_000, 3_600_000, "1h", True),
        TimeRange("30d", 30 * 86_400_000, 4 * 3_600_000, "4h", True),
    )
}


@dataclass
class ServiceRow:
    spec: ServiceSpec
    health: Health
    availability: float | None = None
    error_ratio: float | None = None
    p95_s: float | None = None
    request_rate: float | None = None
    budget: BudgetStatus | None = None  # the SLO with the least budget left
    budget_slo: str | None = None
    spark: list[float] = field(default_factory=list)


def raw_source() -> DatabaseSource:
    return DatabaseSource(runtime().engine)


def rollup_source() -> DatabaseSource:
    return DatabaseSource(runtime().engine, use_rollups=True)


def configured_services() -> list[ServiceSpec]:
    """The services section, parsed once per process (opsloop serve does it at start)."""
    areas = runtime().areas
    if "services" not in areas:
        try:
            areas["services"] = load_services(runtime().config)
        except ServiceConfigError:
            areas["services"] = []
            raise
    services: list[ServiceSpec] = areas["services"]
    return services


def all_services(now_ms: int) -> list[ServiceSpec]:
    """Configured services plus one per scraped job, with conventions matched to the data."""
    jobs = {target.job for target in list_targets(db())}
    specs = services_with_jobs(configured_services(), jobs)
    cache: dict[str, tuple[ServiceSpec, int, ServiceSpec]] = runtime().areas.setdefault(
        "services_resolved", {}
    )
    resolved = []
    for spec in specs:
        hit = cache.get(spec.name)
        if hit is None or hit[0] != spec or now_ms - hit[1] > RESOLVE_TTL_MS:
            hit = (spec, now_ms, resolve_conventions(raw_source(), spec, now_ms))
            cache[spec.name] = hit
        resolved.append(hit[2])
    return resolved


def find_service(name: str, now_ms: int) -> ServiceSpec | None:
    return next((s for s in all_services(now_ms) if s.name == name), None)


def instant(source: SeriesSource, expr: str, now_ms: int) -> float | None:
    """A one-number expression at now; None when it has no data (or is NaN)."""
    try:
        result = evaluate_instant(expr, source, now_ms)
    except QueryError:
        return None
    if len(result) != 1 or math.isnan(result[0].value):
        return None
    return result[0].value


def budget_now(spec: ServiceSpec, slo: SloSpec, now_ms: int) -> BudgetStatus:
    status = error_budget(rollup_source(), spec, slo, now_ms)
    if status.remaining_ratio is None:
        status = error_budget(raw_source(), spec, slo, now_ms)
    return status


def service_row(spec: ServiceSpec, now_ms: int, *, spark: bool = True) -> ServiceRow:
    source = raw_source()
    row = ServiceRow(spec, service_health(source, spec, now_ms))
    row.availability = instant(source, spec.signals["availability"], now_ms)
    if row.health.state is not HealthState.DOWN or row.availability is not None:
        row.error_ratio = instant(source, spec.signals["error_ratio"], now_ms)
        row.p95_s = instant(source, spec.signals["latency_p95"], now_ms)
        row.request_rate = instant(source, spec.signals["request_rate"], now_ms)
    for slo in spec.slos:
        status = budget_now(spec, slo, now_ms)
        if status.remaining_ratio is None:
            continue
        if row.budget is None or status.remaining_ratio < (row.budget.remaining_ratio or 0):
            row.budget, row.budget_slo = status, slo.name
    if spark:
        signal = "request_rate" if row.request_rate is not None else "availability"
        expr = signal_expr(spec, signal, "2m")
        series = evaluate_range(expr, source, now_ms - SPARK_RANGE_MS, now_ms, SPARK_STEP_MS)
        row.spark = [v for v in series[0].values if not math.isnan(v)] if series else []
    return row


def range_series(source: SeriesSource, expr: str, now_ms: int, span: TimeRange) -> list[SeriesData]:
    try:
        return evaluate_range(expr, source, now_ms - span.range_ms, now_ms, span.step_ms)
    except QueryError:
        return []


def burn_down(spec: ServiceSpec, slo: SloSpec, now_ms: int, span: TimeRange) -> SeriesData | None:
    start = now_ms - span.range_ms
    for source in (rollup_source(), raw_source()):
        series = budget_remaining_series(source, spec, slo, start, now_ms, span.step_ms)
        if series is not None:
            return series
    return None


def slo_table(
    spec: ServiceSpec, now_ms: int
) -> list[tuple[SloSpec, BudgetStatus, dict[str, float | None]]]:
    return [
        (
            slo,
            budget_now(spec, slo, now_ms),
            burn_rates(raw_source(), spec, slo, now_ms, long_source=rollup_source()),
        )
        for slo in spec.slos
    ]


def deploy_markers(spec: ServiceSpec, start_ms: int, end_ms: int) -> list[tuple[datetime, str]]:
    """Deploys of this service (by name or job) in the range: (when, version)."""
    rows = db().exec(
        select(Deploy)
        .where(
            col(Deploy.service).in_({spec.name, spec.job}),
            col(Deploy.at) >= from_ms(start_ms),
            col(Deploy.at) <= from_ms(end_ms),
        )
        .order_by(col(Deploy.at))
    )
    return [(d.at, d.version) for d in rows]


def health_summary(now_ms: int) -> list[tuple[str, Health]]:
    """(service name, health) of every service, for the overview page; [] on a config error."""
    try:
        services = all_services(now_ms)
    except ServiceConfigError:
        return []
    source = raw_source()
    return [(spec.name, service_health(source, spec, now_ms)) for spec in services]
