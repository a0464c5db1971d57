"""The alert store: opsloop's own and foreign alerts in one table, with their state history.

Every state change goes through `record_transition`, which writes an AlertEvent, so the
alert history page can show the whole timeline. Foreign alerts (webhooks) are stored in
bulk by `alerts.ingest`; this module holds the ORM-level use cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from alerts.errors import AlertNotFound
from alerts.models import Alert, AlertEvent, AlertSource, AlertState
from core.db import canonical_json

DEFAULT_LIST_LIMIT = 200
MAX_LIST_LIMIT = 1000
SERVICE_LABELS = ("service", "job")


def service_of(labels: Mapping[str, str]) -> str | None:
    """The service an alert belongs to: its `service` label, else its `job` label."""
    for name in SERVICE_LABELS:
        value = labels.get(name)
        if value:
            return value[:255]
    return None


def record_transition(
    session: Session,
    alert: Alert,
    to_state: AlertState,
    now: datetime,
    value: float | None = None,
    note: str | None = None,
) -> AlertEvent | None:
    """Move an alert to a state and store the event; None (no event) if already there.

    Entering firing sets fired_at (once); entering resolved sets resolved_at and, when
    the alert has no end yet, ends_at.
    """
    from_state = AlertState(alert.state)
    if from_state is to_state:
        return None
    alert.state = to_state.value
    if value is not None:
        alert.value = value
    if to_state is AlertState.FIRING and alert.fired_at is None:
        alert.fired_at = now
    if to_state is AlertState.RESOLVED:
        alert.resolved_at = now
        if alert.ends_at is None:
            alert.ends_at = now
    session.add(alert)
    session.flush()
    assert alert.id is not None
    event = AlertEvent(
        alert_id=alert.id,
        at=now,
        from_state=from_state.value,
        to_state=to_state.value,
        value=value,
        note=note,
    )
    session.add(event)
    return event


def open_own_alert(session: Session, fingerprint: str) -> Alert | None:
    """The not-yet-resolved own alert with this label fingerprint, if any."""
    query = select(Alert).where(
        Alert.source == AlertSource.OWN.value,
        Alert.fingerprint == fingerprint,
        Alert.state != AlertState.RESOLVED.value,
    )
    return session.exec(query.order_by(col(Alert.starts_at).desc())).first()


def upsert_own_alert(
    session: Session,
    *,
    fingerprint: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    state: AlertState,
    value: float | None,
    now: datetime,
    active_at: datetime,
    fired_at: datetime | None = None,
    keep_firing_until: datetime | None = None,
    generator_url: str | None = None,
    rule_group: str | None = None,
    receiver: str | None = None,
    suppressed_by: str | None = None,
    note: str | None = None,
) -> Alert | None:
    """Create or update the open own alert with this fingerprint; store its state change.

    A new alert starts at `active_at` (identity: own + fingerprint + starts_at). Asking
    for `resolved` when nothing is open returns None and stores nothing. Label,
    annotation, value and suppression updates are written on every call.
    """
    alert = open_own_alert(session, fingerprint)
    extra: dict[str, Any] = {
        "keep_firing_until": keep_firing_until,
        "generator_url": generator_url,
        "rule_group": rule_group,
        "receiver": receiver,
        "suppressed_by": suppressed_by,
    }
    if alert is None:
        if state is AlertState.RESOLVED:
            return None
        alert = Alert(
            fingerprint=fingerprint,
            source=AlertSource.OWN.value,
            state=state.value,
            alertname=str(labels.get("alertname", ""))[:255],
            service=service_of(labels),
            labels=canonical_json(dict(labels)),
            annotations=canonical_json(dict(annotations)),
            value=value,
            starts_at=active_at,
            active_at=active_at,
            fired_at=(fired_at or now) if state is AlertState.FIRING else None,
            last_seen_at=now,
            **extra,
        )
        _insert_with_event(session, alert, now, note)
        return alert
    alert.labels = canonical_json(dict(labels))
    alert.annotations = canonical_json(dict(annotations))
    alert.value = value
    alert.last_seen_at = now
    _apply_extra(alert, extra)
    if state is AlertState.FIRING and fired_at is not None and alert.fired_at is None:
        alert.fired_at = fired_at
    record_transition(session, alert, state, now, value=value, note=note)
    session.add(alert)
    session.flush()
    return alert


def _insert_with_event(session: Session, alert: Alert, now: datetime, note: str | None) -> None:
    session.add(alert)
    session.flush()
    assert alert.id is not None
    session.add(
        AlertEvent(alert_id=alert.id, at=now, to_state=alert.state, value=alert.value, note=note)
    )


def _apply_extra(alert: Alert, extra: Mapping[str, Any]) -> None:
    """keep_firing_until and suppressed_by always follow the caller (None clears them);
    the descriptive fields change only when given."""
    alert.keep_firing_until = extra["keep_firing_until"]
    alert.suppressed_by = extra["suppressed_by"]
    for name in ("generator_url", "rule_group", "receiver"):
        if extra[name] is not None:
            setattr(alert, name, extra[name])


def list_alerts(
    session: Session,
    *,
    state: AlertState | None = None,
    service: str | None = None,
    source: AlertSource | None = None,
    suppressed: bool | None = None,
    since: datetime | None = None,
    limit: int = DEFAULT_LIST_LIMIT,
) -> list[Alert]:
    """Alerts, newest first; `suppressed` True keeps only open alerts held back."""
    query = select(Alert)
    if state is not None:
        query = query.where(Alert.state == state.value)
    if service is not None:
        query = query.where(Alert.service == service)
    if source is not None:
        query = query.where(Alert.source == source.value)
    if suppressed is True:
        query = query.where(
            col(Alert.suppressed_by).is_not(None), Alert.state != AlertState.RESOLVED.value
        )
    elif suppressed is False:
        query = query.where(col(Alert.suppressed_by).is_(None))
    if since is not None:
        query = query.where(col(Alert.starts_at) >= since)
    limit = max(1, min(limit, MAX_LIST_LIMIT))
    query = query.order_by(col(Alert.starts_at).desc(), col(Alert.id).desc()).limit(limit)
    return list(session.exec(query).all())


def count_by_state(session: Session) -> dict[str, int]:
    """Number of alerts per state, plus `suppressed` (open alerts held back)."""
    rows = session.exec(select(Alert.state, func.count()).group_by(Alert.state)).all()
    counts: dict[str, int] = {s.value: 0 for s in AlertState}
    counts.update({state: int(n) for state, n in rows})
    held = select(func.count()).where(
        col(Alert.suppressed_by).is_not(None), Alert.state != AlertState.RESOLVED.value
    )
    counts["suppressed"] = int(session.exec(held).one())
    return counts


def list_services(session: Session) -> list[str]:
    query = select(Alert.service).where(col(Alert.service).is_not(None)).distinct()
    return sorted(s for s in session.exec(query).all() if s)


def get_alert(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFound(f"no alert with id {alert_id}")
    return alert


def alert_events(session: Session, alert_id: int) -> list[AlertEvent]:
    query = select(AlertEvent).where(AlertEvent.alert_id == alert_id)
    return list(session.exec(query.order_by(col(AlertEvent.at), col(AlertEvent.id))).all())


def acknowledge(session: Session, alert_id: int, who: str, now: datetime) -> Alert:
    """Mark an alert as seen by someone (stops repeats); the first acknowledgement stays."""
    alert = get_alert(session, alert_id)
    if alert.acked_at is not None:
        return alert
    alert.acked_by = who[:80]
    alert.acked_at = now
    session.add(alert)
    session.flush()
    assert alert.id is not None
    session.add(
        AlertEvent(
            alert_id=alert.id,
            at=now,
            from_state=alert.state,
            to_state=alert.state,
            note=f"acknowledged by {who}",
        )
    )
    return alert


def alert_as_dict(alert: Alert) -> dict[str, Any]:
    """The JSON form of an alert used by the API."""

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat().replace("+00:00", "Z") if moment else None

    return {
        "id": alert.id,
        "fingerprint": alert.fingerprint,
        "source": alert.source,
        "state": alert.state,
        "alertname": alert.alertname,
        "service": alert.service,
        "labels": alert.label_map,
        "annotations": alert.annotation_map,
        "value": alert.value,
        "startsAt": iso(alert.starts_at),
        "endsAt": iso(alert.ends_at),
        "firedAt": iso(alert.fired_at),
        "resolvedAt": iso(alert.resolved_at),
        "lastSeenAt": iso(alert.last_seen_at),
        "generatorURL": alert.generator_url,
        "receiver": alert.receiver,
        "suppressedBy": alert.suppressed_by,
        "ackedBy": alert.acked_by,
        "ackedAt": iso(alert.acked_at),
    }
