"""Health of a service at `now`: healthy / degraded / down, with the reason a person would give."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from collector.promql import evaluate_instant
from collector.series import SeriesSource
from collector.services import ServiceSpec, SliKind, latency_quantile_expr, signal_expr
from collector.slo import error_ratio_expr

# More than this share of 5xx answers over 5 minutes degrades a service.
ERROR_RATIO_DEGRADED = 0.05
# Burning the budget this fast over both 1h and 5m spends 2 % of a 30-day budget per hour.
FAST_BURN = 14.4


class HealthState(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True)
class Health:
    state: HealthState
    reason: str


def _value(source: SeriesSource, expr: str, now_ms: int) -> float | None:
    result = evaluate_instant(expr, source, now_ms)
    if len(result) != 1 or math.isnan(result[0].value):
        return None
    return result[0].value


def service_health(source: SeriesSource, service: ServiceSpec, now_ms: int) -> Health:
    """Down when no target is up; degraded on a down target, errors, slow answers or fast burn."""
    ups = evaluate_instant(f"up{{{service.selector_text()}}}", source, now_ms)
    if not ups:
        return Health(HealthState.DOWN, f"no scrape of job {service.job} in the last 5 minutes")
    down = sorted(s.labels.get("instance", "?") for s in ups if s.value < 1)
    if len(down) == len(ups):
        return Health(HealthState.DOWN, f"all {len(ups)} target(s) down: {', '.join(down)}")
    reasons = []
    if down:
        reasons.append(f"{len(down)} of {len(ups)} targets down: {', '.join(down)}")
    error_ratio = _value(source, signal_expr(service, "error_ratio"), now_ms)
    if error_ratio is not None and error_ratio > ERROR_RATIO_DEGRADED:
        reasons.append(f"{error_ratio:.1%} of requests failed over 5m (over 5%)")
    reasons += _slo_reasons(source, service, now_ms)
    if reasons:
        return Health(HealthState.DEGRADED, "; ".join(reasons))
    return Health(HealthState.HEALTHY, f"{len(ups)} target(s) up, within objectives")


def _slo_reasons(source: SeriesSource, service: ServiceSpec, now_ms: int) -> list[str]:
    reasons = []
    for slo in service.slos:
        if slo.sli is SliKind.LATENCY and slo.threshold_s is not None:
            q = round(slo.objective * 100)
            latency = _value(source, latency_quantile_expr(service, slo.objective), now_ms)
            if latency is not None and latency > slo.threshold_s:
                reasons.append(
                    f"p{q} latency {latency * 1000:.0f} ms over 5m "
                    f"(objective {slo.threshold_s * 1000:.0f} ms)"
                )
                continue
        fast = _value(source, error_ratio_expr(service, slo, "1h"), now_ms)
        short = _value(source, error_ratio_expr(service, slo, "5m"), now_ms)
        if fast is None or short is None:
            continue
        burn_1h, burn_5m = fast / slo.allowed_ratio, short / slo.allowed_ratio
        if burn_1h > FAST_BURN and burn_5m > FAST_BURN:
            reasons.append(f"SLO {slo.name} budget burning {burn_1h:.0f}x over 1h")
    return reasons
