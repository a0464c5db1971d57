"""Liveness, readiness and opsloop's own /metrics."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from core.migrate import pending_heads
from web.security import public
from web.state import runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.get("/readyz")
@public
def readyz() -> ResponseReturnValue:
    engine = runtime().engine
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        missing = pending_heads(engine)
    except SQLAlchemyError as exc:
        reason = str(exc.__cause__ or exc).splitlines()[0]
        return jsonify(status="unavailable", reason=f"database unreachable: {reason}"), 503
    if missing:
        return jsonify(
            status="unavailable",
            reason=f"migrations pending: {', '.join(sorted(missing))} (run `opsloop db upgrade`)",
        ), 503
    return jsonify(status="ready")


@bp.get("/metrics")
@public
def metrics() -> ResponseReturnValue:
    return Response(generate_latest(runtime().metrics.registry), mimetype=CONTENT_TYPE_LATEST)
