"""The overview (home) page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("overview", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("overview/index.html")
