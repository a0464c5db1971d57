"""The webhook intake's lean path: a WSGI layer that answers the intake's successful POSTs.

Alertmanager and Grafana post many small webhooks with a bearer token, and Flask's
request machinery (request context, rate limiter, session, login, CSRF hooks) cost about
as much CPU as storing the alerts. This layer, in front of the Flask app, answers
exactly one case itself: a POST to an intake URL with a Content-Length within the
intake's limit, a bearer token (web.security's token cache) with the editor role, a body
that parses, and alerts that are stored. Its answer is what the Flask view gives: the
same JSON body and headers, the same request metrics. Every other request, and every
other outcome (no or bad token, 403, 400, 413, a failure to store), goes to the Flask app
with the body it read, so error answers come from one place only. A failure to store is
thus tried a second time there: the intake is idempotent, and a failure that persists
gets Flask's own 500 handling and log.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from alerts.group_commit import receive_alerts
from alerts.intake import MAX_INTAKE_BYTES, IncomingAlert, parse_alertmanager, parse_grafana
from core.errors import AuthError
from core.models import Role
from core.runtime import Runtime
from web.security import bearer_principal

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]

# path -> (the Flask endpoint that serves it, its parser); web.api_alerts registers both
ROUTES: dict[str, tuple[str, Callable[[bytes], list[IncomingAlert]]]] = {
    "/api/v1/alerts/alertmanager": ("api_alerts.intake_alertmanager", parse_alertmanager),
    "/api/v1/alerts/grafana": ("api_alerts.intake_grafana", parse_grafana),
}
ROLE = Role.EDITOR  # what require_role asks of the intake views
# web.app's _security_headers on an API answer, and the Vary that Flask-Login's
# after_request hook adds by looking at the session.
FIXED_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Vary", "Cookie"),
)


class IntakePath:
    """WSGI middleware: the intake's lean path, everything else to `flask_wsgi`."""

    def __init__(self, app: Flask, flask_wsgi: WSGIApp) -> None:
        self.app = app
        self.flask_wsgi = flask_wsgi

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        route = ROUTES.get(environ.get("PATH_INFO", ""))
        if route is None or environ.get("REQUEST_METHOD") != "POST" or self.app.debug:
            return self.flask_wsgi(environ, start_response)
        endpoint, parse = route
        answer = self._answer(environ, parse)
        if answer is None:
            return self.flask_wsgi(environ, start_response)
        body, started = answer
        rt: Runtime = self.app.extensions["opsloop"]
        headers = [
            ("Content-Type", self.app.json.mimetype),  # type: ignore[attr-defined]
            ("Content-Length", str(len(body))),
            *FIXED_HEADERS,
        ]
        start_response("200 OK", headers)
        rt.metrics.http_requests.labels(endpoint, "POST", "200").inc()
        rt.metrics.http_latency.labels(endpoint).observe(time.perf_counter() - started)
        return [body]

    def _answer(
        self, environ: dict[str, Any], parse: Callable[[bytes], list[IncomingAlert]]
    ) -> tuple[bytes, float] | None:
        """The 200's body and when the work began, or None: Flask answers (body put back)."""
        try:
            who = bearer_principal(self.app, environ.get("HTTP_AUTHORIZATION", ""))
        except AuthError:
            return None
        if who is None or not who.role.allows(ROLE):
            return None
        length = _content_length(environ)
        if length is None or length > MAX_INTAKE_BYTES:
            return None
        started = time.perf_counter()
        try:
            body = environ["wsgi.input"].read(length) if length else b""
        except Exception:  # the client went away: Flask answers as it does to a short body
            environ["wsgi.input"] = io.BytesIO(b"")
            return None
        try:
            incoming = parse(body)
            rt: Runtime = self.app.extensions["opsloop"]
            result = receive_alerts(rt.engine, incoming, rt.now())
        except Exception:
            environ["wsgi.input"] = io.BytesIO(body)
            return None
        # as jsonify(status="success", **counts) outside debug mode: compact, then a newline
        data = {"status": "success", **result.as_dict()}
        text = self.app.json.dumps(data, separators=(",", ":"))
        return f"{text}\n".encode(), started


def _content_length(environ: dict[str, Any]) -> int | None:
    raw = environ.get("CONTENT_LENGTH", "")
    return int(raw) if raw.isdigit() else None
