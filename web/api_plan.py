"""Plan API: ranked items, item changes, deploy markers (`/api/v1/items`, `/api/v1/deploys`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from core.clock import as_utc
from core.models import Role
from plan.deploys import deploy_as_dict, list_deploys, record_deploy
from plan.errors import DeployError, ItemError, ItemNotFound
from plan.items import edit_item, ranked_items, score_one
from plan.models import ItemKind, ItemStatus
from web.api import ApiError, json_body
from web.openapi import api_doc
from web.plan import plan_config
from web.security import require_role
from web.state import db, runtime

bp = Blueprint("api_plan", __name__, url_prefix="/api/v1")

PATCHABLE = ("status", "effort", "title")
_STATUS_DOC = {"type": "string", "enum": [s.value for s in ItemStatus]}


@bp.get("/items")
@api_doc(
    get={
        "summary": "Items in rank order, each with its score and the breakdown of the score",
        "tags": ["plan"],
        "parameters": [
            {"name": "status", "in": "query", "schema": _STATUS_DOC},
            {"name": "service", "in": "query", "schema": {"type": "string"}},
            {
                "name": "kind",
                "in": "query",
                "schema": {"type": "string", "enum": [k.value for k in ItemKind]},
            },
        ],
    }
)
def items() -> ResponseReturnValue:
    args = {k: (request.args.get(k) or "").strip() or None for k in ("status", "service", "kind")}
    try:
        ranked = ranked_items(db(), plan_config(), runtime().now(), **args)
    except ItemError as exc:
        raise ApiError(400, "bad_filter", str(exc)) from exc
    return jsonify(items=[{**e.as_row(), "breakdown": e.score.breakdown()} for e in ranked])


@bp.patch("/items/<int:item_id>")
@require_role(Role.EDITOR)
@api_doc(
    patch={
        "summary": "Change an item's status, effort or title",
        "tags": ["plan"],
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "status": _STATUS_DOC,
                            "effort": {"type": ["number", "null"], "exclusiveMinimum": 0},
                            "title": {"type": "string", "maxLength": 200},
                        },
                        "additionalProperties": False,
                    }
                }
            }
        },
        "responses": {"200": {"description": "The item"}, "400": {"description": "Bad field"}},
    }
)
def patch_item(item_id: int) -> ResponseReturnValue:
    body = json_body()
    if not isinstance(body, dict) or not body:
        raise ApiError(
            400, "bad_request", f"send a JSON object with any of: {', '.join(PATCHABLE)}"
        )
    unknown = sorted(set(body) - set(PATCHABLE))
    if unknown:
        raise ApiError(
            400, "bad_field", f"cannot change {', '.join(unknown)}; allowed: {', '.join(PATCHABLE)}"
        )
    session = db()
    now = runtime().now()
    try:
        item = edit_item(session, item_id, body, plan_config(), now)
    except ItemNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    except ItemError as exc:
        session.rollback()
        raise ApiError(400, "bad_value", str(exc)) from exc
    session.commit()
    score = score_one(session, item, plan_config(), now)
    return jsonify(
        id=item.id,
        title=item.title,
        status=item.status,
        effort=item.effort,
        score=round(score.score, 6),
        breakdown=score.breakdown(),
    )


def _parse_at(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, "bad_value", "at must be an ISO 8601 timestamp string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "bad_value", f"at is not an ISO 8601 timestamp: {value!r}") from None
    if moment.tzinfo is None:
        raise ApiError(400, "bad_value", "at needs a time zone, e.g. 2026-11-26T10:00:00Z")
    return as_utc(moment)


@bp.post("/deploys")
@require_role(Role.EDITOR)
@api_doc(
    post={
        "summary": "Record a deploy marker; the items it names move to released",
        "tags": ["plan"],
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["service", "version"],
                        "properties": {
                            "service": {"type": "string"},
                            "version": {"type": "string"},
                            "at": {"type": "string", "format": "date-time"},
                            "url": {"type": "string", "format": "uri"},
                            "items": {"type": "array", "items": {"type": "integer"}},
                        },
                    }
                }
            }
        },
        "responses": {
            "201": {"description": "Recorded"},
            "200": {
                "description": "A retry of a recorded deploy (same version as the "
                "service's nearest deploy, within an hour of it)"
            },
            "400": {"description": "Bad field or unknown item"},
        },
    }
)
def post_deploy() -> ResponseReturnValue:
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(
            400, "bad_request", "send a JSON object {service, version, at?, url?, items?}"
        )
    unknown = sorted(set(body) - {"service", "version", "at", "url", "items"})
    if unknown:
        raise ApiError(400, "bad_field", f"unknown field(s): {', '.join(unknown)}")
    session = db()
    try:
        recorded = record_deploy(
            session,
            service=body.get("service"),
            version=body.get("version"),
            at=_parse_at(body.get("at")),
            url=body.get("url"),
            items=body.get("items"),
            cfg=plan_config(),
            now=runtime().now(),
        )
    except DeployError as exc:
        session.rollback()
        raise ApiError(400, "bad_deploy", str(exc)) from exc
    session.commit()
    data = {**deploy_as_dict(recorded.deploy), "released": recorded.released}
    return jsonify(data), 201 if recorded.created else 200


@bp.get("/deploys")
@api_doc(
    get={
        "summary": "Deploy markers, newest first",
        "tags": ["plan"],
        "parameters": [
            {"name": "service", "in": "query", "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}},
        ],
    }
)
def get_deploys() -> ResponseReturnValue:
    raw_limit = request.args.get("limit", "100")
    if not raw_limit.isdigit():
        raise ApiError(400, "bad_value", f"limit must be a positive integer, got {raw_limit!r}")
    service = (request.args.get("service") or "").strip() or None
    rows = list_deploys(db(), service=service, limit=int(raw_limit))
    return jsonify(deploys=[deploy_as_dict(d) for d in rows])
