"""Services pages."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("services", __name__, url_prefix="/services")


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("services/index.html")
