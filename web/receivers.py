"""Receivers page: each receiver's last delivery, its recent attempts, and a test button."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func
from sqlmodel import col, select

from alerts.config import alerting_for
from alerts.dispatch import attempts_for_receiver, receiver_states, send_test_notification
from alerts.errors import NotifyError
from alerts.notification_models import Notification
from alerts.receivers import Route
from core.models import Role
from web.security import principal, require_role
from web.state import db, runtime

bp = Blueprint("receivers", __name__, url_prefix="/receivers")
ATTEMPTS_SHOWN = 15


def safe_url(url: str) -> str:
    """The URL without credentials or query string (tokens hide there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _route_rows(route: Route | None, depth: int = 0) -> list[tuple[int, Route]]:
    if route is None:
        return []
    rows = [(depth, route)]
    for child in route.routes:
        rows.extend(_route_rows(child, depth + 1))
    return rows


@bp.get("/")
def index() -> ResponseReturnValue:
    rt = runtime()
    config = alerting_for(rt).dispatch.notify
    session = db()
    names = sorted(config.receivers)
    states = receiver_states(session, names)
    counts = dict(
        session.exec(
            select(Notification.status, func.count())
            .where(col(Notification.receiver).in_(names))
            .group_by(Notification.status)
        ).all()
    )
    receivers = [
        {
            "config": config.receivers[name],
            "url": safe_url(config.receivers[name].url),
            "state": states.get(name),
            "attempts": attempts_for_receiver(session, name, ATTEMPTS_SHOWN),
        }
        for name in names
    ]
    who = principal()
    return render_template(
        "receivers/index.html",
        receivers=receivers,
        routes=_route_rows(config.route),
        windows=config.maintenance_windows,
        counts=counts,
        now=rt.now(),
        can_edit=who is not None and who.role.allows(Role.EDITOR),
    )


@bp.post("/<name>/test")
@require_role(Role.EDITOR)
def send_test(name: str) -> ResponseReturnValue:
    rt = runtime()
    ctx = alerting_for(rt).dispatch
    if name not in ctx.notify.receivers:
        abort(404, description=f"no receiver named {name!r}")
    # End the request's transaction first: on SQLite it holds the write lock the delivery
    # log needs.
    db().commit()
    try:
        result = send_test_notification(rt.engine, ctx, name, rt.now())
    except NotifyError as exc:
        flash(str(exc), "error")
    else:
        if result.ok:
            flash(f"Test notification delivered to {name} (HTTP {result.status_code}).", "ok")
        else:
            kind = "permanent, not retried" if result.permanent else "it will be retried"
            flash(f"Test notification to {name} failed: {result.error} ({kind}).", "error")
    return redirect(url_for("receivers.index"))
