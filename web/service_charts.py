"""Plotly figures of a service page as plain JSON, built here and drawn by plotly.js."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from collector.series import SeriesData
from collector.services import ServiceSpec, selector_text, signal_expr
from core.clock import from_ms
from web.service_status import TimeRange, burn_down, range_series, raw_source, rollup_source

COLORS = {"ok": "#1f9d55", "bad": "#d64545", "warn": "#d98e04", "accent": "#2f6fed"}
QUANTILE_COLORS = ("#1f9d55", "#d98e04", "#d64545")


def _x(timestamps_ms: Sequence[int]) -> list[str]:
    return [from_ms(t).strftime("%Y-%m-%d %H:%M:%S") for t in timestamps_ms]


def _y(values: Sequence[float], scale: float = 1.0) -> list[float | None]:
    return [None if math.isnan(v) or math.isinf(v) else v * scale for v in values]


def _trace(
    series: SeriesData, name: str, color: str, scale: float = 1.0, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": _x(series.timestamps_ms),
        "y": _y(series.values, scale),
        "line": {"color": color, "width": 2},
        **extra,
    }


def _layout(
    title: str,
    y_title: str,
    deploys: Sequence[tuple[datetime, str]],
    x_range: tuple[int, int],
    **extra: Any,
) -> dict[str, Any]:
    shapes = []
    annotations = []
    for at, version in deploys:
        x = at.strftime("%Y-%m-%d %H:%M:%S")
        shapes.append(
            {"type": "line", "x0": x, "x1": x, "yref": "paper", "y0": 0, "y1": 1,
             "line": {"color": "#6b7cff", "width": 1, "dash": "dot"}}
        )  # fmt: skip
        annotations.append(
            {"x": x, "yref": "paper", "y": 1, "text": f"deploy {version}", "showarrow": False,
             "font": {"size": 10, "color": "#6b7cff"}, "xanchor": "left", "yanchor": "top"}
        )  # fmt: skip
    return {
        "title": {"text": title, "font": {"size": 14}},
        "margin": {"l": 55, "r": 15, "t": 40, "b": 35},
        "height": 280,
        # The whole chosen range, even where data starts later (a new install, a new job).
        "xaxis": {"range": _x(x_range), "type": "date"},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "y": -0.2},
        "shapes": shapes,
        "annotations": annotations,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        **extra,
    }


def figure_json(figure: dict[str, Any]) -> str:
    """JSON safe to place inside a <script> element: label values come from scraped data."""
    text = json.dumps(figure, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def service_figures(
    spec: ServiceSpec, now_ms: int, span: TimeRange, deploys: Sequence[tuple[datetime, str]]
) -> dict[str, dict[str, Any]]:
    """Request rate, error ratio, latency quantiles, SLO budget burn-down, CPU and memory."""
    source = rollup_source() if span.rollups else raw_source()
    xr = (now_ms - span.range_ms, now_ms)
    w = span.window

    def one(expr: str) -> SeriesData | None:
        found = range_series(source, expr, now_ms, span)
        return found[0] if len(found) == 1 else None

    figures: dict[str, dict[str, Any]] = {}
    errors_sel = selector_text(spec.job, spec.selector, {spec.status_label: "5.."})
    rate_traces = []
    total = one(signal_expr(spec, "request_rate", w))
    if total is not None:
        rate_traces.append(_trace(total, "all", COLORS["accent"]))
    failed = one(f"sum(rate({spec.requests_metric}{{{errors_sel}}}[{w}]))")
    if failed is not None:
        rate_traces.append(_trace(failed, "5xx", COLORS["bad"]))
    figures["requests"] = {
        "data": rate_traces,
        "layout": _layout("Request rate", "requests/s", deploys, xr),
    }

    ratio = one(signal_expr(spec, "error_ratio", w))
    figures["errors"] = {
        "data": [_trace(ratio, "5xx share", COLORS["bad"], 100.0)] if ratio else [],
        "layout": _layout("Error ratio", "%", deploys, xr),
    }

    latency = []
    for q, color in zip(("p50", "p95", "p99"), QUANTILE_COLORS, strict=True):
        series = one(signal_expr(spec, f"latency_{q}", w))
        if series is not None:
            latency.append(_trace(series, q, color, 1000.0))
    figures["latency"] = {"data": latency, "layout": _layout("Latency", "ms", deploys, xr)}

    budget_traces = []
    for slo, color in zip(spec.slos, ("#2f6fed", "#d98e04", "#1f9d55", "#d64545"), strict=False):
        series = burn_down(spec, slo, now_ms, span)
        if series is not None:
            budget_traces.append(_trace(series, f"{slo.name} ({slo.objective:.2%})", color, 100.0))
    figures["budget"] = {
        "data": budget_traces,
        "layout": _layout(
            "Error budget left",
            "% of budget",
            deploys,
            xr,
            yaxis={"title": {"text": "% of budget"}},
        ),
    }

    usage = []
    cpu = one(signal_expr(spec, "cpu", w))
    if cpu is not None:
        usage.append(_trace(cpu, "CPU (cores)", COLORS["accent"]))
    memory = one(signal_expr(spec, "memory", w))
    if memory is not None:
        usage.append(_trace(memory, "memory (MiB)", COLORS["warn"], 1 / 2**20, yaxis="y2"))
    figures["usage"] = {
        "data": usage,
        "layout": _layout(
            "CPU and memory", "cores", deploys, xr,
            margin={"l": 55, "r": 60, "t": 40, "b": 35},
            yaxis2={"title": {"text": "MiB"}, "overlaying": "y", "side": "right",
                    "rangemode": "tozero"},
        ),
    }  # fmt: skip
    return figures
