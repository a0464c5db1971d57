"""Signed webhooks from feedback sources: POST /hooks/discourse/<source>.

Public (Discourse cannot log in) and exempt from CSRF: the HMAC signature over the raw body,
made with the source's webhook_secret, is the proof instead.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from feedback.discourse import handle_webhook, webhook_source
from feedback.errors import (
    FeedbackConfigError,
    SignatureError,
    SourcePayloadError,
    UnknownSourceError,
)
from feedback.source_store import all_sources
from feedback.sources import SourceConfig, load_sources
from web.feedback_runtime import feedback_analyser
from web.security import csrf_exempt, public
from web.state import db, runtime

log = logging.getLogger(__name__)
bp = Blueprint("hooks", __name__, url_prefix="/hooks")

MAX_WEBHOOK_BYTES = 1024 * 1024


def configured_sources() -> list[SourceConfig]:
    """The config file's sources, parsed once per app."""
    cached = current_app.extensions.get("feedback_sources")
    if cached is None:
        cached = load_sources(runtime().config)
        current_app.extensions["feedback_sources"] = cached
    sources: list[SourceConfig] = cached
    return sources


def _refuse(status: int, error: str, message: str) -> ResponseReturnValue:
    return jsonify(error=error, message=message), status


@bp.post("/discourse/<source>")
@public
@csrf_exempt
def discourse(source: str) -> ResponseReturnValue:
    if (request.content_length or 0) > MAX_WEBHOOK_BYTES:
        return _refuse(413, "too_large", f"webhook bodies are limited to {MAX_WEBHOOK_BYTES} bytes")
    try:
        config = webhook_source(all_sources(db(), configured_sources()), source)
    except FeedbackConfigError as exc:
        log.error("feedback_sources: %s", exc)
        return _refuse(503, "config_error", "the feedback sources configuration is invalid")
    except UnknownSourceError as exc:
        return _refuse(404, "unknown_source", str(exc))
    body = request.get_data(cache=False)
    session = db()
    try:
        outcome = handle_webhook(
            session, config, dict(request.headers), body, runtime().now(), feedback_analyser()
        )
    except SignatureError as exc:
        session.rollback()
        return _refuse(401, "bad_signature", str(exc))
    except SourcePayloadError as exc:
        session.rollback()
        return _refuse(400, "bad_payload", str(exc))
    session.commit()
    return jsonify(status=outcome.status, detail=outcome.detail), 200
