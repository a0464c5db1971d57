"""Collector API: scrape targets (list, add, change, pause, remove) and stored series."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from collector.errors import TargetConflict, TargetError, TargetNotFound
from collector.models import Target
from collector.promql import ExpressionError, parse_expr
from collector.promql.nodes import VectorSelector
from collector.series import Matcher
from collector.storage import DatabaseSource
from collector.targets import (
    create_target,
    delete_target,
    get_target,
    list_targets,
    update_target,
)
from core.clock import parse_time_ms, to_ms
from core.models import Role
from web.api import ApiError, json_body
from web.openapi import api_doc
from web.security import require_role
from web.state import db, runtime

bp = Blueprint("api_collector", __name__, url_prefix="/api/v1")

DEFAULT_SERIES_RANGE_MS = 3_600_000
MAX_SERIES_POINTS = 200_000
_TARGET_SCHEMA = {
    "type": "object",
    "properties": {
        "job": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "interval_s": {"type": "number"},
        "timeout_s": {"type": "number"},
        "enabled": {"type": "boolean"},
    },
}
_ID = [{"name": "target_id", "in": "path", "required": True, "schema": {"type": "integer"}}]


def target_json(t: Target) -> dict[str, Any]:
    return {
        "id": t.id,
        "job": t.job,
        "url": t.url,
        "labels": json.loads(t.labels or "{}"),
        "interval_s": t.interval_s,
        "timeout_s": t.timeout_s,
        "enabled": t.enabled,
        "source": t.source,
        "health": t.health,
        "last_scrape_at": t.last_scrape_at.isoformat() if t.last_scrape_at else None,
        "last_duration_s": t.last_duration_s,
        "last_samples": t.last_samples,
        "last_error": t.last_error,
    }


def _refuse(exc: TargetError) -> ApiError:
    if isinstance(exc, TargetNotFound):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, TargetConflict):
        return ApiError(409, "conflict", str(exc))
    return ApiError(400, "bad_target", str(exc))


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ApiError(400, "bad_target", "the body must be a JSON object")
    return data


@bp.get("/targets")
@api_doc(get={"summary": "List scrape targets with their health", "tags": ["collector"]})
def targets_index() -> ResponseReturnValue:
    return jsonify(targets=[target_json(t) for t in list_targets(db())])


@bp.post("/targets")
@require_role(Role.EDITOR)
@api_doc(
    post={
        "summary": "Add a scrape target",
        "tags": ["collector"],
        "requestBody": {"content": {"application/json": {"schema": _TARGET_SCHEMA}}},
        "responses": {"201": {"description": "Created"}, "409": {"description": "Exists"}},
    }
)
def targets_create() -> ResponseReturnValue:
    data = _object(json_body())
    unknown = set(data) - set(_TARGET_SCHEMA["properties"])
    if unknown:
        raise ApiError(400, "bad_target", f"unknown field(s): {', '.join(sorted(unknown))}")
    for field in ("job", "url"):
        if not isinstance(data.get(field), str):
            raise ApiError(400, "bad_target", f"{field} is required and must be a string")
    labels = data.get("labels") or {}
    if not isinstance(labels, dict):
        raise ApiError(400, "bad_target", "labels must be an object of strings")
    try:
        target = create_target(
            db(),
            job=data["job"],
            url=data["url"],
            labels=labels,
            interval_s=_number(data, "interval_s", 60.0),
            timeout_s=_number(data, "timeout_s", 10.0),
            enabled=bool(data.get("enabled", True)),
        )
        db().commit()
    except TargetError as exc:
        db().rollback()
        raise _refuse(exc) from exc
    return jsonify(target_json(target)), 201


def _number(data: dict[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(400, "bad_target", f"{key} must be a number of seconds")
    return float(value)


@bp.get("/targets/<int:target_id>")
@api_doc(get={"summary": "One scrape target", "tags": ["collector"], "parameters": _ID})
def targets_show(target_id: int) -> ResponseReturnValue:
    try:
        return jsonify(target_json(get_target(db(), target_id)))
    except TargetError as exc:
        raise _refuse(exc) from exc


@bp.patch("/targets/<int:target_id>")
@require_role(Role.EDITOR)
@api_doc(
    patch={
        "summary": "Change or pause (enabled: false) a scrape target",
        "tags": ["collector"],
        "parameters": _ID,
        "requestBody": {"content": {"application/json": {"schema": _TARGET_SCHEMA}}},
    }
)
def targets_update(target_id: int) -> ResponseReturnValue:
    changes = _object(json_body())
    try:
        target = update_target(db(), target_id, changes)
        db().commit()
    except TargetError as exc:
        db().rollback()
        raise _refuse(exc) from exc
    return jsonify(target_json(target))


@bp.delete("/targets/<int:target_id>")
@require_role(Role.EDITOR)
@api_doc(
    delete={
        "summary": "Remove a scrape target (its stored series stay)",
        "tags": ["collector"],
        "parameters": _ID,
        "responses": {"204": {"description": "Removed"}},
    }
)
def targets_delete(target_id: int) -> ResponseReturnValue:
    try:
        delete_target(db(), target_id)
        db().commit()
    except TargetError as exc:
        db().rollback()
        raise _refuse(exc) from exc
    return "", 204


def _time_ms(raw: str | None, name: str, default: int) -> int:
    """A time as Prometheus's API takes it: unix seconds (fractions allowed) or RFC 3339."""
    if raw is None or raw == "":
        return default
    try:
        return parse_time_ms(raw)
    except ValueError as exc:
        raise ApiError(400, "bad_data", f"{name}: {exc}") from None


def selector_matchers(text: str) -> list[Matcher]:
    try:
        expr = parse_expr(text)
    except ExpressionError as exc:
        raise ApiError(400, "bad_data", f"match: {exc}") from exc
    if not isinstance(expr, VectorSelector) or expr.offset_ms:
        raise ApiError(400, "bad_data", 'match must be a series selector like name{a="x"}')
    return list(expr.matchers)


@bp.get("/series")
@api_doc(
    get={
        "summary": "Stored samples of the series matching a selector",
        "tags": ["collector"],
        "parameters": [
            {"name": "match", "in": "query", "required": True, "schema": {"type": "string"}},
            {"name": "start", "in": "query", "schema": {"type": "string"}},
            {"name": "end", "in": "query", "schema": {"type": "string"}},
        ],
        "responses": {"400": {"description": "Bad selector or time"}},
    }
)
def series_index() -> ResponseReturnValue:
    match = request.args.get("match") or request.args.get("match[]")
    if not match:
        raise ApiError(400, "bad_data", 'match is required, e.g. match=up{job="opsloop"}')
    now_ms = to_ms(runtime().now())
    end = _time_ms(request.args.get("end"), "end", now_ms)
    start = _time_ms(request.args.get("start"), "start", end - DEFAULT_SERIES_RANGE_MS)
    if start > end:
        raise ApiError(400, "bad_data", "start is after end")
    found = DatabaseSource(runtime().engine).select(selector_matchers(match), start, end)
    if sum(len(s.timestamps_ms) for s in found) > MAX_SERIES_POINTS:
        raise ApiError(400, "too_many_points", "narrow the selector or the time range")
    return jsonify(
        status="success",
        data=[
            {
                "metric": s.labels,
                "values": [
                    [ts / 1000, _value(v)] for ts, v in zip(s.timestamps_ms, s.values, strict=True)
                ],
            }
            for s in found
        ],
    )


def _value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)
