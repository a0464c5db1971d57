"""The REST API blueprint shell: JSON errors, the OpenAPI document, shared helpers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from core import __version__
from web.openapi import api_doc, build_openapi

bp = Blueprint("api", __name__, url_prefix="/api")


class ApiError(Exception):
    """A request the API refuses: status, a short code, and a message naming the problem."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def json_body() -> Any:
    """The request's JSON body, or a 400 that says what is wrong with it."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send Content-Type: application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "bad_json", "the body is not valid JSON")
    return data


@bp.get("/openapi.json")
@api_doc(get={"summary": "This OpenAPI 3.1 document", "tags": ["meta"]})
def openapi() -> ResponseReturnValue:
    return jsonify(build_openapi(current_app, __version__))
