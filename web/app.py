"""The Flask application factory."""

from __future__ import annotations

import time
from pathlib import Path

import plotly
from flask import Flask, g, jsonify, render_template, request, send_from_directory
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from core import __version__
from core.runtime import Runtime, build_runtime
from web import (
    alerts,
    api,
    api_alerts,
    api_collector,
    api_feedback,
    api_plan,
    api_query,
    auth,
    feedback,
    feedback_import,
    feedback_public,
    feedback_sources,
    health,
    hooks,
    overview,
    plan,
    receivers,
    roadmap,
    services,
    settings_page,
    surveys,
    surveys_public,
    targets,
    themes,
)
from web.extensions import init_extensions
from web.intake_path import IntakePath
from web.security import init_security, is_api_request, principal, public
from web.state import close_db, runtime

PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"
NAV = (
    ("overview.index", "Overview"),
    ("services.index", "Services"),
    ("alerts.index", "Alerts"),
    ("receivers.index", "Receivers"),
    ("feedback.index", "Feedback"),
    ("plan.index", "Plan"),
    ("settings.index", "Settings"),
)
BLUEPRINTS = (
    auth.bp,
    health.bp,
    overview.bp,
    services.bp,
    alerts.bp,
    receivers.bp,
    feedback.bp,
    feedback_public.bp,
    feedback_import.bp,
    surveys.bp,
    surveys_public.bp,
    hooks.bp,
    themes.bp,
    feedback_sources.bp,
    plan.bp,
    roadmap.bp,
    settings_page.bp,
    api.bp,
    api_feedback.bp,
    api_alerts.bp,
    api_query.bp,
    api_plan.bp,
    api_collector.bp,
    targets.bp,
)


def create_app(runtime: Runtime | None = None) -> Flask:
    """Build the app around a runtime (from the environment when not given)."""
    rt = runtime or build_runtime()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=rt.settings.secret_key,
        MAX_CONTENT_LENGTH=rt.settings.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["opsloop"] = rt
    init_extensions(app, rt.settings)
    init_security(app)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    app.add_url_rule("/static/vendor/plotly.min.js", "plotly_js", _plotly_js)
    app.view_functions["static"] = public(app.view_functions["static"])
    app.teardown_appcontext(close_db)
    app.before_request(_start_timer)
    app.after_request(_record_request)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(api.ApiError, _api_error)
    app.context_processor(lambda: {"nav": NAV, "principal": principal(), "version": __version__})
    app.wsgi_app = IntakePath(app, app.wsgi_app)  # type: ignore[method-assign]
    return app


@public
def _plotly_js() -> ResponseReturnValue:
    return send_from_directory(PLOTLY_DIR, "plotly.min.js", max_age=86400)


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _record_request(response: ResponseReturnValue) -> ResponseReturnValue:
    started = g.get("request_started")
    endpoint = request.endpoint or "unmatched"
    metrics = runtime().metrics
    status = getattr(response, "status_code", 200)
    metrics.http_requests.labels(endpoint, request.method, str(status)).inc()
    if started is not None:
        metrics.http_latency.labels(endpoint).observe(time.perf_counter() - started)
    return response


def _security_headers(response: ResponseReturnValue) -> ResponseReturnValue:
    headers = getattr(response, "headers", None)
    if headers is not None:
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if not getattr(g, "allow_framing", False):
            headers.setdefault("X-Frame-Options", "DENY")
    return response


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    code = exc.code or 500
    if is_api_request() or request.accept_mimetypes.best == "application/json":
        return jsonify(
            error=exc.name.lower().replace(" ", "_"), message=exc.description or exc.name
        ), code
    return render_template(
        "errors/error.html", code=code, title=exc.name, message=exc.description
    ), code


def _api_error(exc: api.ApiError) -> ResponseReturnValue:
    return jsonify(error=exc.error, message=exc.message), exc.status


def _csrf_error(exc: CSRFError) -> ResponseReturnValue:
    message = f"The form was refused: {exc.description} Reload the page and try again."
    if is_api_request():
        return jsonify(error="csrf", message=exc.description), 400
    return render_template(
        "errors/error.html", code=400, title="Form expired", message=message
    ), 400
