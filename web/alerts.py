"""Alerts pages."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("alerts/index.html")
