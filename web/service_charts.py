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
SLO_COLORS = ("#2f6fed", "#d98e04", "#1f9d55", "#d64545", "#6b7cff")


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
    charts = _Charts(spec, now_ms, span, deploys)
    return {
        "requests": charts.requests(),
        "errors": charts.errors(),
        "latency": charts.latency(),
        "budget": charts.budget(),
        "usage": charts.usage(),
    }


class _Charts:
    def __init__(
        self,
        spec: ServiceSpec,
        now_ms: int,
        span: TimeRange,
        deploys: Sequence[tuple[datetime, str]],
    ) -> None:
        self.spec = spec
        self.now_ms = now_ms
        self.span = span
        self.deploys = deploys
        self.source = rollup_source() if span.rollups else raw_source()

    def one(self, expr: str) -> SeriesData | None:
        found = range_series(self.source, expr, self.now_ms, self.span)
        return found[0] if len(found) == 1 else None

    def signal(self, name: str) -> SeriesData | None:
        return self.one(signal_expr(self.spec, name, self.span.window))

    def figure(
        self, traces: list[dict[str, Any]], title: str, unit: str, **extra: Any
    ) -> dict[str, Any]:
        x_range = (self.now_ms - self.span.range_ms, self.now_ms)
        return {"data": traces, "layout": _layout(title, unit, self.deploys, x_range, **extra)}

    def requests(self) -> dict[str, Any]:
        spec = self.spec
        errors = selector_text(spec.job, spec.selector, {spec.status_label: "5.."})
        failed = self.one(f"sum(rate({spec.requests_metric}{{{errors}}}[{self.span.window}]))")
        traces = []
        for series, name, color in ((self.signal("request_rate"), "all", COLORS["accent"]),
                                    (failed, "5xx", COLORS["bad"])):  # fmt: skip
            if series is not None:
                traces.append(_trace(series, name, color))
        return self.figure(traces, "Request rate", "requests/s")

    def errors(self) -> dict[str, Any]:
        ratio = self.signal("error_ratio")
        traces = [_trace(ratio, "5xx share", COLORS["bad"], 100.0)] if ratio else []
        return self.figure(traces, "Error ratio", "%")

    def latency(self) -> dict[str, Any]:
        traces = []
        for q, color in zip(("p50", "p95", "p99"), QUANTILE_COLORS, strict=True):
            series = self.signal(f"latency_{q}")
            if series is not None:
                traces.append(_trace(series, q, color, 1000.0))
        return self.figure(traces, "Latency", "ms")

    def budget(self) -> dict[str, Any]:
        traces = []
        for slo, color in zip(self.spec.slos, SLO_COLORS, strict=False):
            series = burn_down(self.spec, slo, self.now_ms, self.span)
            if series is not None:
                traces.append(_trace(series, f"{slo.name} ({slo.objective:.2%})", color, 100.0))
        return self.figure(traces, "Error budget left", "% of budget")

    def usage(self) -> dict[str, Any]:
        traces = []
        cpu = self.signal("cpu")
        if cpu is not None:
            traces.append(_trace(cpu, "CPU (cores)", COLORS["accent"]))
        memory = self.signal("memory")
        if memory is not None:
            traces.append(_trace(memory, "memory (MiB)", COLORS["warn"], 1 / 2**20, yaxis="y2"))
        return self.figure(
            traces, "CPU and memory", "cores",
            margin={"l": 55, "r": 60, "t": 40, "b": 35},
            yaxis2={"title": {"text": "MiB"}, "overlaying": "y", "side": "right",
                    "rangemode": "tozero"},
        )  # fmt: skip
