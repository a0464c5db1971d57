"""SLOs: the bad-event ratio of an SLI over a window, error budget left, and burn rates.

A burn rate is the bad-event ratio over a window divided by the budget (1 - objective):
1 spends the budget exactly over the SLO window, 14.4 spends 2 % of a 30-day budget in an
hour — the inputs of multi-window, multi-burn-rate alerts (Google SRE workbook, ch. 5).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from collector.promql import evaluate_instant, evaluate_range
from collector.series import SeriesData, SeriesSource
from collector.services import ServiceSpec, SliKind, SloSpec, signal_expr
from core.durations import format_duration_ms, parse_duration_ms

BURN_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
LONG_WINDOW_S = 6 * 3600  # from here on, 5-minute rollups are precise enough


@dataclass(frozen=True)
class BudgetStatus:
    """The error budget of one SLO at `now`; None where there is no data to judge."""

    remaining_ratio: float | None  # 1 = untouched, 0 = spent, < 0 = overspent
    error_ratio: float | None  # bad events / all events over the SLO window
    allowed_ratio: float  # 1 - objective
    window_s: int


def _le_pattern(threshold_s: float) -> str:
    """The `le` values a client may write for this bound: 0.3 as "0.3" or "0.30", 1 as "1.0"."""
    text = format(threshold_s, "g")
    escaped = re.escape(text).replace("\\", "\\\\")
    return escaped + ("0*" if "." in text else "(\\\\.0*)?")


def error_ratio_expr(service: ServiceSpec, slo: SloSpec, window: str) -> str:
    """PromQL of the SLO's bad-event ratio over a window such as "5m" (0 = all good)."""
    sel = service.selector_text()
    if slo.sli is SliKind.AVAILABILITY:
        return f"1 - avg(avg_over_time(up{{{sel}}}[{window}]))"
    if slo.sli is SliKind.ERROR_RATIO:
        return signal_expr(service, "error_ratio", window)
    assert slo.threshold_s is not None, "a latency SLO has a threshold"
    metric = service.latency_metric
    fast = f'{sel}, le=~"{_le_pattern(slo.threshold_s)}"'
    return (
        f"1 - sum(rate({metric}_bucket{{{fast}}}[{window}])) "
        f"/ sum(rate({metric}_count{{{sel}}}[{window}]))"
    )


def request_rate_expr(service: ServiceSpec, window: str) -> str:
    """PromQL of the service's requests per second over a window (minimum-traffic guards)."""
    return signal_expr(service, "request_rate", window)


def _scalar(source: SeriesSource, expr: str, now_ms: int) -> float | None:
    result = evaluate_instant(expr, source, now_ms)
    if len(result) != 1 or math.isnan(result[0].value):
        return None
    return result[0].value


def burn_rates(
    source: SeriesSource,
    service: ServiceSpec,
    slo: SloSpec,
    now_ms: int,
    *,
    long_source: SeriesSource | None = None,
) -> dict[str, float | None]:
    """Burn rate per window of BURN_WINDOWS; None where the window has no data (or traffic).

    With `long_source` (e.g. rollups), windows of LONG_WINDOW_S and more are read from it
    first, falling back to `source` where it has nothing.
    """
    rates: dict[str, float | None] = {}
    for window in BURN_WINDOWS:
        expr = error_ratio_expr(service, slo, window)
        ratio = None
        if long_source is not None and parse_duration_ms(window) >= LONG_WINDOW_S * 1000:
            ratio = _scalar(long_source, expr, now_ms)
        if ratio is None:
            ratio = _scalar(source, expr, now_ms)
        rates[window] = None if ratio is None else max(ratio, 0.0) / slo.allowed_ratio
    return rates


def error_budget(
    source: SeriesSource, service: ServiceSpec, slo: SloSpec, now_ms: int
) -> BudgetStatus:
    """Budget left over the SLO's window ending at now (give a source that covers the window)."""
    window = format_duration_ms(slo.window_s * 1000)
    ratio = _scalar(source, error_ratio_expr(service, slo, window), now_ms)
    remaining = None if ratio is None else 1.0 - max(ratio, 0.0) / slo.allowed_ratio
    return BudgetStatus(remaining, ratio, slo.allowed_ratio, slo.window_s)


def budget_remaining_series(
    source: SeriesSource,
    service: ServiceSpec,
    slo: SloSpec,
    start_ms: int,
    end_ms: int,
    step_ms: int,
) -> SeriesData | None:
    """Budget left at each step (the burn-down chart); None when there is no data."""
    window = format_duration_ms(slo.window_s * 1000)
    expr = f"1 - ({error_ratio_expr(service, slo, window)}) / {slo.allowed_ratio!r}"
    result = evaluate_range(expr, source, start_ms, end_ms, step_ms)
    return result[0] if result else None
