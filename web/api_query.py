"""Query API in Prometheus's shape: /api/v1/query and /api/v1/query_range over stored series."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from collector.promql import (
    EvaluationError,
    Expr,
    ExpressionError,
    ValueType,
    evaluate_instant,
    evaluate_range,
    parse_expr,
)
from collector.storage import DatabaseSource
from core.clock import parse_time_ms, to_ms
from core.durations import parse_duration_ms
from web.openapi import api_doc
from web.state import runtime

bp = Blueprint("api_query", __name__, url_prefix="/api/v1")

MAX_RANGE_MS = 400 * 86_400_000

_PARAMS_COMMON = [
    {"name": "expr", "in": "query", "required": True, "schema": {"type": "string"},
     "description": "The expression (PromQL syntax; `query` is accepted too)."},
    {"name": "rollups", "in": "query", "schema": {"type": "boolean"},
     "description": "Read 5-minute rollups instead of raw samples (long ranges)."},
]  # fmt: skip
_ERRORS = {
    "400": {"description": "Bad expression (with its character position) or bad parameter"},
    "422": {"description": "The expression cannot be evaluated on these series"},
}


class _BadRequest(Exception):
    def __init__(self, status: int, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.position = position


@bp.errorhandler(_BadRequest)
def _bad_request(exc: _BadRequest) -> ResponseReturnValue:
    kind = "bad_data" if exc.status == 400 else "execution"
    body: dict[str, Any] = {
        "status": "error",
        "errorType": kind,
        "error": kind,
        "message": exc.message,
    }
    if exc.position is not None:
        body["position"] = exc.position
    return jsonify(body), exc.status


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it: shortest decimal, "NaN", "+Inf", "-Inf"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value):
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _timestamp(ms: int) -> float | int:
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def _time_param(name: str, default_ms: int | None = None) -> int:
    """Unix seconds (fractions allowed) or RFC 3339, as Prometheus accepts them."""
    raw = request.args.get(name, "").strip()
    if not raw:
        if default_ms is None:
            raise _BadRequest(400, f"parameter {name!r} is required")
        return default_ms
    try:
        return parse_time_ms(raw)
    except ValueError as exc:
        raise _BadRequest(400, f"parameter {name!r}: {exc}") from None


def _step_param() -> int:
    raw = request.args.get("step", "").strip()
    if not raw:
        raise _BadRequest(400, "parameter 'step' is required (seconds, or a duration like 15s)")
    try:
        ms = round(float(raw) * 1000)
    except ValueError:
        try:
            ms = parse_duration_ms(raw)
        except ValueError:
            ms = 0
    if ms <= 0:
        raise _BadRequest(400, f"parameter 'step': {raw!r} is not a positive duration")
    return ms


def _expression() -> Expr:
    text = request.args.get("expr") or request.args.get("query") or ""
    try:
        tree = parse_expr(text)
    except ExpressionError as exc:
        raise _BadRequest(400, str(exc), exc.position) from None
    if tree.type is ValueType.MATRIX:
        raise _BadRequest(
            400, "a range vector cannot be the result; apply a function such as rate()", 0
        )
    return tree


def _source() -> DatabaseSource:
    rollups = request.args.get("rollups", "").lower() in ("1", "true", "yes")
    return DatabaseSource(runtime().engine, use_rollups=rollups)


@bp.get("/query")
@api_doc(
    get={
        "summary": "Evaluate an expression at one instant",
        "tags": ["queries"],
        "parameters": [
            *_PARAMS_COMMON,
            {"name": "time", "in": "query", "schema": {"type": "string"},
             "description": "Unix seconds or RFC 3339; default now."},
        ],
        "responses": {"200": {"description": "resultType vector or scalar"}, **_ERRORS},
    }
)  # fmt: skip
def query() -> ResponseReturnValue:
    tree = _expression()
    at_ms = _time_param("time", to_ms(runtime().now()))
    try:
        samples = evaluate_instant(tree, _source(), at_ms)
    except EvaluationError as exc:
        raise _BadRequest(422, str(exc)) from None
    if tree.type is ValueType.SCALAR:
        data: dict[str, Any] = {
            "resultType": "scalar",
            "result": [_timestamp(at_ms), format_value(samples[0].value)],
        }
    else:
        data = {
            "resultType": "vector",
            "result": [
                {"metric": dict(s.labels), "value": [_timestamp(at_ms), format_value(s.value)]}
                for s in samples
            ],
        }
    return jsonify(status="success", data=data)


@bp.get("/query_range")
@api_doc(
    get={
        "summary": "Evaluate an expression at each step of a time range",
        "tags": ["queries"],
        "parameters": [
            *_PARAMS_COMMON,
            {"name": "start", "in": "query", "required": True, "schema": {"type": "string"}},
            {"name": "end", "in": "query", "required": True, "schema": {"type": "string"}},
            {"name": "step", "in": "query", "required": True, "schema": {"type": "string"},
             "description": "Seconds or a duration (15s); at most 11,000 points per series."},
        ],
        "responses": {"200": {"description": "resultType matrix"}, **_ERRORS},
    }
)  # fmt: skip
def query_range() -> ResponseReturnValue:
    tree = _expression()
    start_ms = _time_param("start")
    end_ms = _time_param("end")
    step_ms = _step_param()
    if end_ms < start_ms:
        raise _BadRequest(400, "end must not be before start")
    if end_ms - start_ms > MAX_RANGE_MS:
        raise _BadRequest(400, "the range may span at most 400 days")
    try:
        series = evaluate_range(tree, _source(), start_ms, end_ms, step_ms)
    except EvaluationError as exc:
        status = 400 if "resolution" in str(exc) else 422
        raise _BadRequest(status, str(exc)) from None
    result = [
        {
            "metric": s.labels,
            "values": [
                [_timestamp(t), format_value(v)]
                for t, v in zip(s.timestamps_ms, s.values, strict=True)
            ],
        }
        for s in series
    ]
    return jsonify(status="success", data={"resultType": "matrix", "result": result})
