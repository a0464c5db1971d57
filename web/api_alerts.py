"""Alerts REST API: webhook intake (Alertmanager, Grafana), alert listing, silences."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from alerts.errors import AlertNotFound, IntakeError, SilenceError
from alerts.group_commit import receive_alerts
from alerts.intake import MAX_INTAKE_BYTES, IncomingAlert, parse_alertmanager, parse_grafana
from alerts.models import AlertSource, AlertState
from alerts.silences import (
    SilenceState,
    create_silence,
    expire_silence,
    get_silence,
    list_silences,
    silence_as_dict,
)
from alerts.store import (
    MAX_LIST_LIMIT,
    alert_as_dict,
    alert_events,
    get_alert,
    list_alerts,
)
from core.clock import as_utc
from core.models import Role
from web.api import ApiError, json_body
from web.openapi import api_doc
from web.security import principal, require_role
from web.state import db, runtime

bp = Blueprint("api_alerts", __name__, url_prefix="/api/v1")

_INTAKE_RESPONSES = {
    "200": {"description": "Stored: counts of received, created, resolved, unchanged alerts"},
    "400": {"description": "Malformed JSON, or a missing or ill-typed field (named)"},
    "403": {"description": "The token lacks the write scope"},
    "413": {"description": f"Body larger than {MAX_INTAKE_BYTES} bytes"},
}


def _intake(parse: Callable[[bytes], list[IncomingAlert]]) -> ResponseReturnValue:
    length = request.content_length
    if length is not None and length > MAX_INTAKE_BYTES:
        raise ApiError(
            413, "payload_too_large", f"the body is {length} bytes; the limit is {MAX_INTAKE_BYTES}"
        )
    request.max_content_length = MAX_INTAKE_BYTES
    try:
        incoming = parse(request.get_data(cache=False))
    except IntakeError as exc:
        code = "payload_too_large" if exc.status == 413 else "bad_payload"
        raise ApiError(exc.status, code, exc.message) from None
    rt = runtime()
    result = receive_alerts(rt.engine, incoming, rt.now())
    return jsonify(status="success", **result.as_dict())


@bp.post("/alerts/alertmanager")
@api_doc(
    post={
        "summary": "Receive an Alertmanager webhook notification (payload version 4)",
        "description": "Point an Alertmanager `webhook_configs` entry here with a bearer token "
        "(write scope). Idempotent: identity is fingerprint + startsAt.",
        "tags": ["alerts"],
        "responses": _INTAKE_RESPONSES,
    }
)
@require_role(Role.EDITOR)
def intake_alertmanager() -> ResponseReturnValue:
    return _intake(parse_alertmanager)


@bp.post("/alerts/grafana")
@api_doc(
    post={
        "summary": "Receive a Grafana alerting webhook notification (version 1)",
        "description": "Point a Grafana webhook contact point here with a bearer token.",
        "tags": ["alerts"],
        "responses": _INTAKE_RESPONSES,
    }
)
@require_role(Role.EDITOR)
def intake_grafana() -> ResponseReturnValue:
    return _intake(parse_grafana)


def _enum_arg(name: str, enum: Any) -> Any:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return enum(raw)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise ApiError(400, "bad_query", f"{name}: {raw!r} is not one of {allowed}") from None


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, "bad_query", f"{name}: {raw!r} is not a number in {low}..{high}")
    return int(raw)


@bp.get("/alerts")
@api_doc(
    get={
        "summary": "List alerts (own and foreign), newest first",
        "tags": ["alerts"],
        "parameters": [
            {"name": "state", "in": "query", "schema": {"enum": [s.value for s in AlertState]}},
            {"name": "service", "in": "query", "schema": {"type": "string"}},
            {"name": "source", "in": "query", "schema": {"enum": [s.value for s in AlertSource]}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}},
        ],
    }
)
def alerts_list() -> ResponseReturnValue:
    state = _enum_arg("state", AlertState)
    source = _enum_arg("source", AlertSource)
    service = request.args.get("service", "").strip() or None
    limit = _int_arg("limit", 200, 1, MAX_LIST_LIMIT)
    rows = list_alerts(db(), state=state, service=service, source=source, limit=limit)
    return jsonify(alerts=[alert_as_dict(a) for a in rows])


@bp.get("/alerts/<int:alert_id>")
@api_doc(get={"summary": "One alert with its state history", "tags": ["alerts"]})
def alert_detail(alert_id: int) -> ResponseReturnValue:
    try:
        alert = get_alert(db(), alert_id)
    except AlertNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    events = [
        {
            "at": as_utc(e.at).isoformat().replace("+00:00", "Z"),
            "from": e.from_state,
            "to": e.to_state,
            "value": e.value,
            "note": e.note,
        }
        for e in alert_events(db(), alert_id)
    ]
    return jsonify(alert=alert_as_dict(alert), events=events)


@bp.get("/silences")
@api_doc(
    get={
        "summary": "List silences (Alertmanager API v2 shape)",
        "tags": ["silences"],
        "parameters": [
            {"name": "state", "in": "query", "schema": {"enum": [s.value for s in SilenceState]}}
        ],
    }
)
def silences_list() -> ResponseReturnValue:
    now = runtime().now()
    wanted = _enum_arg("state", SilenceState)
    found = [silence_as_dict(s, now) for s in list_silences(db(), now)]
    if wanted is not None:
        found = [s for s in found if s["status"]["state"] == wanted.value]
    return jsonify(silences=found)


@bp.post("/silences")
@api_doc(
    post={
        "summary": "Create a silence from Alertmanager-style matchers",
        "tags": ["silences"],
        "responses": {"201": {"description": "Created"}, "400": {"description": "Invalid"}},
    }
)
@require_role(Role.EDITOR)
def silences_create() -> ResponseReturnValue:
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "bad_silence", "the body must be a JSON object")
    now = runtime().now()
    who = principal()
    try:
        silence = create_silence(
            db(),
            matchers=body.get("matchers"),
            starts_at=_time_field(body, "startsAt", now),
            ends_at=_time_field(body, "endsAt", None),
            created_by=_str_field(body, "createdBy", who.name if who else ""),
            comment=_str_field(body, "comment", ""),
            now=now,
        )
    except SilenceError as exc:
        raise ApiError(400, "bad_silence", exc.message) from None
    db().commit()
    return jsonify(silenceID=silence.id, silence=silence_as_dict(silence, now)), 201


def _str_field(body: dict[str, Any], name: str, default: str) -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise ApiError(400, "bad_silence", f"{name}: must be a string")
    return value


def _time_field(body: dict[str, Any], name: str, default: datetime | None) -> datetime:
    raw = body.get(name)
    if raw is None:
        if default is None:
            raise ApiError(400, "bad_silence", f"{name}: missing field (an RFC 3339 time)")
        return default
    try:
        moment = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ApiError(
            400, "bad_silence", f"{name}: {raw!r} is not an RFC 3339 time with a time zone"
        )
    return as_utc(moment)


@bp.get("/silences/<int:silence_id>")
@api_doc(get={"summary": "One silence", "tags": ["silences"]})
def silence_get(silence_id: int) -> ResponseReturnValue:
    now = runtime().now()
    try:
        silence = get_silence(db(), silence_id)
    except AlertNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    return jsonify(silence=silence_as_dict(silence, now))


@bp.delete("/silences/<int:silence_id>")
@api_doc(delete={"summary": "Expire a silence now", "tags": ["silences"]})
@require_role(Role.EDITOR)
def silence_expire(silence_id: int) -> ResponseReturnValue:
    now = runtime().now()
    try:
        silence = expire_silence(db(), silence_id, now)
    except AlertNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    db().commit()
    return jsonify(silence=silence_as_dict(silence, now))
