"""Feedback sources page: each configured forum or feed, its webhook URL and its last poll."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import select

from core.models import Role
from feedback.analysis_models import SourceState
from feedback.errors import FeedbackConfigError
from feedback.polling import poll_source
from feedback.sources import SourceConfig, SourceType
from web.feedback_runtime import feedback_analyser
from web.hooks import configured_sources
from web.security import require_role
from web.state import db, runtime

bp = Blueprint("feedback_sources", __name__, url_prefix="/feedback/sources")


@bp.get("/")
def index() -> ResponseReturnValue:
    try:
        sources = configured_sources()
        error = None
    except FeedbackConfigError as exc:
        sources, error = [], str(exc)
    states = {s.source: s for s in db().exec(select(SourceState))}
    base = runtime().settings.public_url
    rows = [
        {
            "source": source,
            "state": states.get(source.name),
            "webhook_url": _webhook_url(base, source),
        }
        for source in sources
    ]
    return render_template("themes/sources.html", rows=rows, error=error)


def _webhook_url(base: str, source: SourceConfig) -> str | None:
    if source.type is not SourceType.DISCOURSE or not source.webhook_secret:
        return None
    return base + url_for("hooks.discourse", source=source.name)


@bp.post("/<name>/poll")
@require_role(Role.EDITOR)
def poll_now(name: str) -> ResponseReturnValue:
    source = next((s for s in configured_sources() if s.name == name), None)
    if source is None:
        abort(404, description=f"no configured source named {name!r}")
    session = db()
    report = poll_source(session, source, runtime().now(), feedback_analyser(), force=True)
    session.commit()
    if report.error:
        flash(f"{name}: {report.error}", "error")
    elif report.skipped:
        flash(f"{name}: the source asked us to wait until {report.waiting_until:%H:%M:%S} UTC")
    else:
        flash(f"{name}: {report.added} new item(s).")
    return redirect(url_for("feedback_sources.index")), 303
