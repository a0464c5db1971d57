"""Alerts pages: the list (own and foreign), one alert's history, acknowledgements, silences."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from alerts.dispatch import attempts_for_alert
from alerts.errors import AlertNotFound, SilenceError
from alerts.models import Alert, AlertSource, AlertState
from alerts.silences import (
    create_silence,
    expire_silence,
    format_matchers,
    list_silences,
    parse_matcher_lines,
    silence_state,
)
from alerts.store import (
    acknowledge,
    alert_events,
    count_by_state,
    get_alert,
    list_alerts,
    list_services,
)
from core.clock import as_utc
from core.durations import format_duration_s, parse_duration_s
from core.models import Role
from web.security import principal, require_role
from web.state import db, runtime

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

TABS = ("firing", "pending", "suppressed", "resolved", "all")
SINCE = {"1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
DEFAULT_SILENCE = "2h"
# Labels that change on every evaluation make a silence match only one occurrence.
_VOLATILE_LABELS = {"instance", "pod", "container"}


def ago(moment: datetime | None, now: datetime) -> str:
    """`5m ago` for a past moment (whole units, as the list shows them)."""
    if moment is None:
        return "—"
    seconds = max(0, int((now - as_utc(moment)).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


@bp.get("/")
def index() -> ResponseReturnValue:
    tab = request.args.get("tab", "firing")
    if tab not in TABS:
        tab = "firing"
    source = _choice(request.args.get("source"), AlertSource)
    service = request.args.get("service", "").strip() or None
    since_key = request.args.get("since", "")
    now = runtime().now()
    since = now - timedelta(seconds=SINCE[since_key]) if since_key in SINCE else None
    state = AlertState(tab) if tab in {s.value for s in AlertState} else None
    session = db()
    rows = list_alerts(
        session,
        state=state,
        service=service,
        source=source,
        since=since,
        suppressed=True if tab == "suppressed" else (False if tab == "firing" else None),
    )
    return render_template(
        "alerts/index.html",
        alerts=rows,
        tab=tab,
        tabs=TABS,
        counts=count_by_state(session),
        source=source.value if source else "",
        sources=[s.value for s in AlertSource],
        service=service or "",
        services=list_services(session),
        since=since_key if since_key in SINCE else "",
        since_choices=list(SINCE),
        now=now,
        ago=ago,
        can_edit=_can_edit(),
    )


@bp.get("/<int:alert_id>")
def detail(alert_id: int) -> ResponseReturnValue:
    session = db()
    alert = _alert_or_404(alert_id)
    return render_template(
        "alerts/detail.html",
        alert=alert,
        labels=sorted(alert.label_map.items()),
        annotations=sorted(alert.annotation_map.items()),
        events=alert_events(session, alert_id),
        attempts=attempts_for_alert(session, alert_id),
        now=runtime().now(),
        ago=ago,
        can_edit=_can_edit(),
    )


@bp.post("/<int:alert_id>/ack")
@require_role(Role.EDITOR)
def ack(alert_id: int) -> ResponseReturnValue:
    who = principal()
    try:
        alert = acknowledge(db(), alert_id, who.name if who else "?", runtime().now())
    except AlertNotFound:
        abort(404, description=f"no alert with id {alert_id}")
    db().commit()
    flash(f"{alert.alertname or 'Alert'} acknowledged by {alert.acked_by}.", "ok")
    return redirect(_back(url_for("alerts.detail", alert_id=alert_id)))


@bp.get("/silences")
def silences() -> ResponseReturnValue:
    form: dict[str, str] = {"matchers": "", "duration": DEFAULT_SILENCE, "comment": ""}
    from_alert = request.args.get("alert", "")
    if from_alert.isdigit():
        alert = _alert_or_404(int(from_alert))
        form["matchers"] = format_matchers(_matchers_like(alert))
        form["comment"] = f"Silenced from alert #{alert.id} ({alert.alertname})"
    return _silences_page(form, {}, 200)


@bp.post("/silences")
@require_role(Role.EDITOR)
def silence_create() -> ResponseReturnValue:
    form = {
        "matchers": request.form.get("matchers", ""),
        "duration": request.form.get("duration", "").strip(),
        "comment": request.form.get("comment", ""),
    }
    errors: dict[str, str] = {}
    matchers: list[dict[str, Any]] = []
    try:
        matchers = parse_matcher_lines(form["matchers"])
    except SilenceError as exc:
        errors["matchers"] = exc.message
    seconds = 0.0
    try:
        seconds = parse_duration_s(form["duration"])
        if seconds <= 0:
            errors["duration"] = "give a duration longer than zero, like 2h or 1d"
    except ValueError as exc:
        errors["duration"] = str(exc)
    if not form["comment"].strip():
        errors["comment"] = "say why these alerts are silenced"
    if errors:
        return _silences_page(form, errors, 400)
    now = runtime().now()
    who = principal()
    try:
        silence = create_silence(
            db(),
            matchers=matchers,
            starts_at=now,
            ends_at=now + timedelta(seconds=seconds),
            created_by=who.name if who else "?",
            comment=form["comment"],
            now=now,
        )
    except SilenceError as exc:
        return _silences_page(form, {exc.field or "matchers": exc.message}, 400)
    db().commit()
    flash(f"Silence #{silence.id} active for {format_duration_s(seconds)}.", "ok")
    return redirect(url_for("alerts.silences"))


@bp.post("/silences/<int:silence_id>/expire")
@require_role(Role.EDITOR)
def silence_expire(silence_id: int) -> ResponseReturnValue:
    try:
        expire_silence(db(), silence_id, runtime().now())
    except AlertNotFound:
        abort(404, description=f"no silence with id {silence_id}")
    db().commit()
    flash(f"Silence #{silence_id} expired.", "ok")
    return redirect(url_for("alerts.silences"))


def _silences_page(form: dict[str, str], errors: dict[str, str], status: int) -> Any:
    now = runtime().now()
    rows = [(s, silence_state(s, now).value) for s in list_silences(db(), now)]
    page = render_template(
        "alerts/silences.html",
        silences=rows,
        form=form,
        errors=errors,
        now=now,
        ago=ago,
        format_matchers=format_matchers,
        can_edit=_can_edit(),
    )
    return page, status


def _matchers_like(alert: Alert) -> list[dict[str, Any]]:
    """Equality matchers on the alert's stable labels, for "silence like this"."""
    labels = alert.label_map
    chosen = {k: v for k, v in labels.items() if k not in _VOLATILE_LABELS} or labels
    return [
        {"name": k, "value": v, "isRegex": False, "isEqual": True}
        for k, v in sorted(chosen.items())
    ]


def _alert_or_404(alert_id: int) -> Alert:
    try:
        return get_alert(db(), alert_id)
    except AlertNotFound:
        abort(404, description=f"no alert with id {alert_id}")


def _choice(raw: str | None, enum: Any) -> Any:
    try:
        return enum(raw) if raw else None
    except ValueError:
        return None


def _can_edit() -> bool:
    who = principal()
    return who is not None and who.role.allows(Role.EDITOR)


def _back(default: str) -> str:
    target = request.form.get("next", "")
    # Only same-site paths: never redirect off site.
    return target if target.startswith("/") and not target.startswith("//") else default
