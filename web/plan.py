"""Plan pages."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("plan", __name__, url_prefix="/plan")


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("plan/index.html")
