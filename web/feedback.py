"""Feedback pages."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("feedback", __name__, url_prefix="/feedback")


@bp.get("/inbox")
def index() -> ResponseReturnValue:
    return render_template("feedback/index.html")
