"""The overview (home) page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from core.clock import to_ms
from web.service_status import health_summary
from web.state import runtime

bp = Blueprint("overview", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template(
        "overview/index.html", service_health=health_summary(to_ms(runtime().now()))
    )
