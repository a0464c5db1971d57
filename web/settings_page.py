"""Settings page: users, API tokens, configuration in force."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlmodel import select

from core.models import ApiToken, User
from core.settings import SETTINGS_DOC
from web.state import db, runtime

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.get("/")
def index() -> ResponseReturnValue:
    session = db()
    users = session.exec(select(User).order_by(User.name)).all()
    tokens = session.exec(select(ApiToken).order_by(ApiToken.name)).all()
    rt = runtime()
    return render_template(
        "settings/index.html",
        users=users,
        tokens=tokens,
        settings_doc=SETTINGS_DOC,
        settings=rt.settings,
        config_path=rt.settings.config_path,
    )
