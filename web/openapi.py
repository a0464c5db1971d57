"""OpenAPI 3.1 document built from the views under /api/ and the spec each one declares."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask

F = TypeVar("F", bound=Callable[..., Any])

_CONVERTER = re.compile(r"<(?:[a-z_]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
_IGNORED_METHODS = {"HEAD", "OPTIONS"}

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error", "message"],
}


def api_doc(**operations: dict[str, Any]) -> Callable[[F], F]:
    """Attach OpenAPI operations, keyed by lower-case HTTP method, to a view.

    ``@api_doc(get={"summary": "List targets", "responses": {...}})``; responses default
    to a bare 200 and the shared 401.
    """

    def decorate(view: F) -> F:
        view._openapi = {m.lower(): op for m, op in operations.items()}  # type: ignore[attr-defined]
        return view

    return decorate


def openapi_path(rule: str) -> str:
    return _CONVERTER.sub(r"{\1}", rule)


def build_openapi(app: Flask, version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        view = app.view_functions[rule.endpoint]
        docs: dict[str, Any] = getattr(view, "_openapi", {})
        for method in sorted((rule.methods or set()) - _IGNORED_METHODS):
            op = docs.get(method.lower())
            if op is None:
                continue
            entry = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "responses": {"200": {"description": "OK"}},
                **op,
            }
            entry["responses"] = {
                "401": {
                    "description": "Missing or bad credentials",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
                **entry["responses"],
            }
            params = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in rule.arguments
            ]
            if params:
                entry.setdefault("parameters", [])
                entry["parameters"] = params + entry["parameters"]
            paths.setdefault(openapi_path(rule.rule), {})[method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "opsloop API",
            "version": version,
            "description": "Metrics, alerts, feedback and plan of opsloop.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    }
