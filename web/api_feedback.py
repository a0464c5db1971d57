"""Feedback API: POST items (single or batch) and GET them back, filtered."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from core.models import Role
from feedback.errors import ValidationError
from feedback.forms import parse_api_item, parse_timestamp
from feedback.inbox import MAX_PAGE_SIZE, InboxFilter, list_feedback
from feedback.ingest import NewFeedback, ingest, stable_external_id
from feedback.models import Feedback
from web.api import ApiError, json_body
from web.feedback_runtime import feedback_analyser
from web.openapi import api_doc
from web.security import require_role
from web.state import db, runtime

bp = Blueprint("api_feedback", __name__, url_prefix="/api/v1")

MAX_BATCH = 1000
ITEM_SCHEMA = {
    "type": "object",
    "required": ["text"],
    "properties": {
        "text": {"type": "string", "maxLength": 20000},
        "source": {"type": "string", "default": "api", "pattern": "^[a-z0-9][a-z0-9_.:-]{0,79}$"},
        "external_id": {"type": "string", "description": "Your id; repeats are ignored."},
        "author": {"type": "string"},
        "email": {"type": "string"},
        "rating": {"type": "number"},
        "url": {"type": "string", "description": "Link to the original post."},
        "created_at": {"type": "string", "format": "date-time"},
        "service": {"type": "string"},
    },
}
POST_DOC = {
    "summary": "Send feedback: one object or a list (at most 1000); needs the write scope",
    "tags": ["feedback"],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"oneOf": [ITEM_SCHEMA, {"type": "array", "items": ITEM_SCHEMA}]}
            }
        },
    },
    "responses": {
        "201": {"description": "Stored; each item says added or duplicate"},
        "400": {"description": "Some item is invalid (each error names its item and field); "
                "nothing stored"},
        "403": {"description": "The token lacks the write scope"},
    },
}  # fmt: skip
GET_DOC = {
    "summary": "List feedback, newest first (spam excluded)",
    "tags": ["feedback"],
    "parameters": [
        {"name": "service", "in": "query", "schema": {"type": "string"}},
        {"name": "source", "in": "query", "schema": {"type": "string"}},
        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": MAX_PAGE_SIZE}},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    ],
    "responses": {"400": {"description": "A bad query parameter (named in the message)"}},
}


@bp.post("/feedback")
@api_doc(post=POST_DOC)
@require_role(Role.EDITOR)
def post_feedback() -> ResponseReturnValue:
    body = json_body()
    raw_items = body if isinstance(body, list) else [body]
    if not raw_items:
        raise ApiError(400, "invalid", "the list is empty")
    if len(raw_items) > MAX_BATCH:
        raise ApiError(400, "invalid", f"at most {MAX_BATCH} items per request")
    items: list[NewFeedback] = []
    problems: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_items):
        try:
            item = parse_api_item(raw)
        except ValidationError as exc:
            problems += [{"index": index, "field": f, "message": m} for f, m in exc.errors.items()]
            continue
        item.external_id = item.external_id or stable_external_id(item)
        items.append(item)
    if problems:
        first = problems[0]
        message = (
            f"{len({p['index'] for p in problems})} item(s) invalid, nothing stored; "
            f"item {first['index']}, {first['field']}: {first['message']}"
        )
        return jsonify(error="invalid", message=message, items=problems), 400
    session = db()
    result = ingest(session, items, runtime().now(), feedback_analyser())
    session.commit()
    statuses = []
    for index, item in enumerate(items):
        row_id = result.added_ids.get((item.source, item.external_id or ""))
        statuses.append(
            {
                "index": index,
                "id": row_id,
                "external_id": item.external_id,
                "status": "added" if row_id is not None else "duplicate",
            }
        )
    return jsonify(added=result.added, duplicates=result.duplicates, items=statuses), 201


@bp.get("/feedback")
@api_doc(get=GET_DOC)
def get_feedback() -> ResponseReturnValue:
    args = request.args
    try:
        since = parse_timestamp(args.get("since"))
    except ValueError as exc:
        raise ApiError(400, "bad_parameter", f"since: {exc}") from None
    limit = _int_arg("limit", 100, 1, MAX_PAGE_SIZE)
    page = _int_arg("page", 1, 1, 1_000_000)
    filters = InboxFilter(
        source=args.get("source") or None, service=args.get("service") or None, since=since
    )
    found = list_feedback(db(), filters, page=page, per_page=limit)
    return jsonify(
        items=[_as_json(item) for item in found.items],
        total=found.total,
        page=found.page,
        limit=found.per_page,
    )


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "bad_parameter", f"{name}: {raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ApiError(400, "bad_parameter", f"{name}: must be from {low} to {high}")
    return value


def _as_json(item: Feedback) -> dict[str, Any]:
    return {
        "id": item.id,
        "source": item.source,
        "kind": item.kind,
        "external_id": item.external_id,
        "author": item.author,
        "text": item.text,
        "rating": item.rating,
        "url": item.url,
        "created_at": item.created_at.isoformat(),
        "received_at": item.received_at.isoformat(),
        "service": item.service,
        "sentiment": item.sentiment,
        "sentiment_label": item.sentiment_label,
        "urgent": item.urgent,
        "theme_id": item.theme_id,
    }
