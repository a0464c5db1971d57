"""Services pages: the overview (one row per service) and a service's charts and SLOs."""

from __future__ import annotations

import math
from collections.abc import Sequence

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue

from collector.errors import ServiceConfigError
from collector.slo import BURN_WINDOWS
from core.clock import to_ms
from web.service_charts import figure_json, service_figures
from web.service_status import (
    RANGES,
    ServiceRow,
    all_services,
    deploy_markers,
    find_service,
    service_row,
    slo_table,
)
from web.state import runtime

bp = Blueprint("services", __name__, url_prefix="/services")

SPARK_WIDTH, SPARK_HEIGHT = 120, 28


def sparkline_points(values: Sequence[float]) -> str:
    """SVG polyline points scaled into the sparkline box (flat line for a constant series)."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    spread = (high - low) or 1.0
    step = SPARK_WIDTH / (len(values) - 1)
    return " ".join(
        f"{i * step:.1f},{SPARK_HEIGHT - 2 - (v - low) / spread * (SPARK_HEIGHT - 4):.1f}"
        for i, v in enumerate(values)
    )


@bp.app_template_filter("svc_percent")
def _percent(value: float | None, digits: int = 2) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value * 100:.{digits}f} %"


@bp.app_template_filter("svc_ms")
def _milliseconds(value: float | None) -> str:
    if value is None or math.isnan(value) or math.isinf(value):
        return "—"
    return f"{value * 1000:.0f} ms"


@bp.app_template_filter("svc_number")
def _number(value: float | None, digits: int = 2) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:.{digits}f}"


def _rows(now_ms: int) -> tuple[list[ServiceRow], str | None]:
    try:
        services = all_services(now_ms)
    except ServiceConfigError as exc:
        return [], str(exc)
    return [service_row(spec, now_ms) for spec in services], None


@bp.get("/")
def index() -> ResponseReturnValue:
    now_ms = to_ms(runtime().now())
    rows, config_error = _rows(now_ms)
    return render_template(
        "services/index.html",
        rows=rows,
        config_error=config_error,
        spark=sparkline_points,
        spark_size=(SPARK_WIDTH, SPARK_HEIGHT),
    )


@bp.get("/<name>")
def detail(name: str) -> ResponseReturnValue:
    span = RANGES.get(request.args.get("range", "1h"))
    if span is None:
        abort(400, description=f"range must be one of {', '.join(RANGES)}")
    now_ms = to_ms(runtime().now())
    spec = find_service(name, now_ms)
    if spec is None:
        abort(404, description=f"no service is named {name!r}")
    row = service_row(spec, now_ms, spark=False)
    deploys = deploy_markers(spec, now_ms - span.range_ms, now_ms)
    figures = service_figures(spec, now_ms, span, deploys)
    return render_template(
        "services/detail.html",
        row=row,
        spec=spec,
        span=span,
        ranges=list(RANGES),
        figures={key: figure_json(fig) for key, fig in figures.items()},
        empty={key for key, fig in figures.items() if not fig["data"]},
        slos=slo_table(spec, now_ms),
        burn_windows=BURN_WINDOWS,
        deploys=deploys,
    )
