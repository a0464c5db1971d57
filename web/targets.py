"""Targets page: health of every scrape target, and forms to add, edit, pause and remove."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from collector.errors import TargetError
from collector.models import Target
from collector.targets import (
    create_target,
    delete_target,
    get_target,
    list_targets,
    update_target,
)
from core.models import Role
from web.security import principal, require_role
from web.state import db

bp = Blueprint("targets", __name__, url_prefix="/targets")


def parse_labels(text: str) -> dict[str, str]:
    """`env=prod, team=web` from a form field."""
    labels: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise TargetError(f"label {part.strip()!r} is not name=value")
        labels[name.strip()] = value.strip()
    return labels


def _form_number(name: str, default: float) -> float:
    raw = request.form.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise TargetError(f"{name} must be a number of seconds, not {raw!r}") from None


def _can_edit() -> bool:
    who = principal()
    return who is not None and who.role.allows(Role.EDITOR)


@bp.get("/")
def index() -> ResponseReturnValue:
    targets = list_targets(db())
    counts = {h: sum(1 for t in targets if t.health == h) for h in ("up", "down", "unknown")}
    return render_template(
        "targets/index.html",
        targets=targets,
        labels_of=lambda t: json.loads(t.labels or "{}"),
        counts=counts,
        can_edit=_can_edit(),
    )


@bp.post("/")
@require_role(Role.EDITOR)
def create() -> ResponseReturnValue:
    try:
        target = create_target(
            db(),
            job=request.form.get("job", "").strip(),
            url=request.form.get("url", "").strip(),
            labels=parse_labels(request.form.get("labels", "")),
            interval_s=_form_number("interval_s", 60.0),
            timeout_s=_form_number("timeout_s", 10.0),
        )
        db().commit()
    except TargetError as exc:
        db().rollback()
        flash(f"Target not added: {exc}", "error")
        return redirect(url_for("targets.index"))
    flash(f"Target {target.url} added to job {target.job}.", "ok")
    return redirect(url_for("targets.index"))


@bp.get("/<int:target_id>/edit")
@require_role(Role.EDITOR)
def edit(target_id: int) -> ResponseReturnValue:
    try:
        target = get_target(db(), target_id)
    except TargetError as exc:
        flash(str(exc), "error")
        return redirect(url_for("targets.index"))
    labels = ", ".join(f"{k}={v}" for k, v in json.loads(target.labels or "{}").items())
    return render_template("targets/edit.html", target=target, labels=labels)


@bp.post("/<int:target_id>")
@require_role(Role.EDITOR)
def update(target_id: int) -> ResponseReturnValue:
    try:
        target: Target = get_target(db(), target_id)
        changes = {
            "job": request.form.get("job", target.job).strip(),
            "url": request.form.get("url", target.url).strip(),
            "labels": parse_labels(request.form.get("labels", "")),
            "interval_s": _form_number("interval_s", target.interval_s),
            "timeout_s": _form_number("timeout_s", target.timeout_s),
        }
        update_target(db(), target_id, changes)
        db().commit()
    except TargetError as exc:
        db().rollback()
        flash(f"Target not changed: {exc}", "error")
        return redirect(url_for("targets.index"))
    flash("Target changed.", "ok")
    return redirect(url_for("targets.index"))


@bp.post("/<int:target_id>/pause")
@require_role(Role.EDITOR)
def pause(target_id: int) -> ResponseReturnValue:
    enabled = request.form.get("enabled") == "true"
    try:
        update_target(db(), target_id, {"enabled": enabled})
        db().commit()
    except TargetError as exc:
        db().rollback()
        flash(str(exc), "error")
    else:
        flash("Target resumed." if enabled else "Target paused.", "ok")
    return redirect(url_for("targets.index"))


@bp.post("/<int:target_id>/delete")
@require_role(Role.EDITOR)
def remove(target_id: int) -> ResponseReturnValue:
    try:
        delete_target(db(), target_id)
        db().commit()
    except TargetError as exc:
        db().rollback()
        flash(f"Target not removed: {exc}", "error")
    else:
        flash("Target removed; its stored series stay.", "ok")
    return redirect(url_for("targets.index"))
