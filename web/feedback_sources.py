"""Feedback sources page: each forum or feed, its webhook URL and last poll; admins add more.

Sources of the config file are shown read-only; admins may add, change and remove others
here (stored in the database, validated exactly like a config entry).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import select

from core.models import Role
from feedback.analysis_models import SourceState
from feedback.errors import FeedbackConfigError
from feedback.polling import poll_source
from feedback.source_store import ORIGIN, all_sources, delete_source, save_source
from feedback.sources import SourceConfig, SourceType, definition_of
from web.feedback_runtime import feedback_analyser
from web.hooks import configured_sources
from web.security import principal, require_role
from web.state import db, runtime

bp = Blueprint("feedback_sources", __name__, url_prefix="/feedback/sources")

TEXT_FIELDS = ("name", "type", "url", "api_key", "api_username", "webhook_secret", "service")


@bp.get("/")
def index() -> ResponseReturnValue:
    error = None
    try:
        sources = all_sources(db(), configured_sources())
    except FeedbackConfigError as exc:
        sources, error = [], str(exc)
    states = {s.source: s for s in db().exec(select(SourceState))}
    base = runtime().settings.public_url
    rows = [
        {"source": s, "state": states.get(s.name), "webhook_url": _webhook_url(base, s)}
        for s in sources
    ]
    return render_template("themes/sources.html", rows=rows, error=error)


def _webhook_url(base: str, source: SourceConfig) -> str | None:
    if source.type is not SourceType.DISCOURSE or not source.webhook_secret:
        return None
    return base + url_for("hooks.discourse", source=source.name)


def _find(name: str) -> SourceConfig:
    source = next((s for s in all_sources(db(), configured_sources()) if s.name == name), None)
    if source is None:
        abort(404, description=f"no source named {name!r}")
    return source


@bp.post("/<name>/poll")
@require_role(Role.EDITOR)
def poll_now(name: str) -> ResponseReturnValue:
    source = _find(name)
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


@bp.get("/new")
@require_role(Role.ADMIN)
def new() -> ResponseReturnValue:
    return render_template("themes/source_form.html", values={"type": "discourse"}, editing=None)


@bp.get("/<name>/edit")
@require_role(Role.ADMIN)
def edit(name: str) -> ResponseReturnValue:
    source = _find(name)
    if source.origin != ORIGIN:
        abort(403, description="this source comes from the config file: change it there")
    return render_template(
        "themes/source_form.html", values=_form_values(definition_of(source)), editing=name
    )


def _form_values(entry: dict[str, Any]) -> dict[str, str]:
    values = {k: str(v) for k, v in entry.items() if k != "categories"}
    values["categories"] = ", ".join(entry.get("categories", []))
    return values


@bp.post("/save")
@require_role(Role.ADMIN)
def save() -> ResponseReturnValue:
    form = request.form
    editing = form.get("editing") or None
    entry = _entry_from_form(form)
    session = db()
    who = principal()
    try:
        source = save_source(
            session, entry, configured_sources(), runtime().now(), who.name if who else "?", editing
        )
    except FeedbackConfigError as exc:
        session.rollback()
        values = {k: form.get(k, "") for k in (*TEXT_FIELDS, "categories", "poll_interval")}
        values["max_pages"] = form.get("max_pages", "")
        html = render_template(
            "themes/source_form.html", values=values, editing=editing, error=str(exc)
        )
        return html, 400
    session.commit()
    flash(f"Source {source.name} saved.")
    return redirect(url_for("feedback_sources.index")), 303


def _entry_from_form(form: Any) -> dict[str, Any]:
    """A config-shaped mapping from the form; empty fields are left out, numbers parsed."""
    entry: dict[str, Any] = {k: form.get(k, "").strip() for k in TEXT_FIELDS}
    entry = {k: v for k, v in entry.items() if v}
    categories = [c.strip() for c in form.get("categories", "").split(",") if c.strip()]
    if categories:
        entry["categories"] = categories
    interval = form.get("poll_interval", "").strip()
    if interval:
        entry["poll_interval"] = interval
    pages = form.get("max_pages", "").strip()
    if pages:  # not a number: left as text, so that parse_source names the problem
        entry["max_pages"] = int(pages) if pages.isdigit() else pages
    return entry


@bp.post("/<name>/delete")
@require_role(Role.ADMIN)
def delete(name: str) -> ResponseReturnValue:
    session = db()
    try:
        delete_source(session, name)
    except FeedbackConfigError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("feedback_sources.index")), 303
    session.commit()
    flash(f"Source {name} removed (the feedback it brought stays).")
    return redirect(url_for("feedback_sources.index")), 303
