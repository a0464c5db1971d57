"""Storing foreign alerts idempotently: bulk insert-on-conflict, then close what resolved.

Alertmanager re-sends a notification after a failure or timeout, and several web
processes may receive the same one at once, so identity (source, fingerprint, startsAt) is
a unique constraint and new rows go in with INSERT ... ON CONFLICT DO NOTHING: never a
check-then-insert race. Rows are written in identity order so that two concurrent
transactions on PostgreSQL take their row locks in the same order and cannot deadlock.

Several webhooks can be stored in one transaction (ingest_batch), with the result each
would have had alone: alerts.group_commit batches concurrent requests that way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from alerts.intake import IncomingAlert
from alerts.models import Alert, AlertEvent, AlertState, canonical_json
from alerts.silences import _ACTIVE_QUERY as ACTIVE_SILENCES_QUERY
from alerts.silences import ActiveMatchers, silence_id_for
from alerts.store import service_of

ALERT: Table = Alert.__table__  # type: ignore[attr-defined]
EVENT: Table = AlertEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class IngestResult:
    received: int
    created: int
    resolved: int
    unchanged: int

    def as_dict(self) -> dict[str, int]:
        return {
            "received": self.received,
            "created": self.created,
            "resolved": self.resolved,
            "unchanged": self.unchanged,
        }


@dataclass
class Delivery:
    """One webhook's alerts on their way into a group commit, and what became of them."""

    incoming: Sequence[IncomingAlert]
    now: datetime
    alerts: list[IncomingAlert] = field(default_factory=list)  # one per identity
    # The insert's row per alert, built by the request's own thread before it queues:
    # everything done here stays out of the serialised write.
    rows: list[dict[str, Any]] = field(default_factory=list)
    result: IngestResult | None = None
    error: Exception | None = None

    def __post_init__(self) -> None:
        self.alerts = _dedupe(self.incoming)
        self.rows = [_row(alert, self.now) for alert in self.alerts]


def ingest_alerts(
    conn: Connection, incoming: Sequence[IncomingAlert], now: datetime
) -> IngestResult:
    """Store new alerts, close stored ones reported resolved; the caller commits."""
    return ingest_batch(conn, [Delivery(incoming, now)])[0]


def ingest_batch(conn: Connection, deliveries: Sequence[Delivery]) -> list[IngestResult]:
    """Store several webhooks' alerts in one transaction, as if stored one after another.

    The first delivery that carries an identity inserts it; a later one in the same batch
    finds it stored, as it would have a moment later. Updates run in identity order (then
    delivery order), so on PostgreSQL two transactions take row locks in the same order.
    Active silences are read after the insert, at the latest `now` of the batch.
    """
    first: dict[tuple[str, datetime], tuple[int, dict[str, Any]]] = {}
    for index, delivery in enumerate(deliveries):
        for alert, row in zip(delivery.alerts, delivery.rows, strict=True):
            first.setdefault(alert.identity, (index, row))
    if not first:
        return [_counted(d, 0, 0) for d in deliveries]
    # executemany: SQLAlchemy's "insertmanyvalues" sends one multi-row INSERT per batch
    # from a statement compiled once and cached, instead of compiling .values(rows) per call.
    rows = [first[key][1] for key in sorted(first)]
    stmt = _INSERT_NEW[conn.dialect.name]
    created = {(fp, starts): alert_id for alert_id, fp, starts in conn.execute(stmt, rows)}
    silences = _active_silences(conn, max(d.now for d in deliveries))
    events: list[dict[str, Any]] = []
    new_counts = [0] * len(deliveries)
    known: list[tuple[tuple[str, datetime], int, IncomingAlert]] = []
    for index, delivery in enumerate(deliveries):
        new = []
        for alert in delivery.alerts:
            alert_id = created.get(alert.identity)
            if alert_id is not None and first[alert.identity][0] == index:
                new.append((alert, alert_id))
            else:
                known.append((alert.identity, index, alert))
        events += _note_new(conn, new, silences, delivery.now)
        new_counts[index] = len(new)
    resolved = _update_known(conn, sorted(known, key=_op_order), deliveries, silences, events)
    if events:
        conn.execute(_INSERT_EVENTS, events)
    return [_counted(d, new_counts[i], resolved[i]) for i, d in enumerate(deliveries)]


def _op_order(op: tuple[tuple[str, datetime], int, IncomingAlert]) -> tuple[Any, int]:
    return op[0], op[1]


def _counted(delivery: Delivery, created: int, resolved: int) -> IngestResult:
    unchanged = len(delivery.alerts) - created - resolved
    return IngestResult(len(delivery.incoming), created, resolved, unchanged)


def _note_new(
    conn: Connection,
    new: Sequence[tuple[IncomingAlert, int]],
    silences: ActiveMatchers,
    now: datetime,
) -> list[dict[str, Any]]:
    """First history events of the new rows; mark the ones an active silence holds back."""
    events = []
    held: dict[str, list[int]] = {}
    for alert, alert_id in new:
        # The timeline shows when the alert started, not when we heard of it.
        closed = alert.state is AlertState.RESOLVED
        event_at = _closed_at(alert, now) if closed else alert.starts_at
        events.append(_event(alert_id, event_at, None, alert.state, "received"))
        reason = None if closed else _suppression(alert, silences)
        if reason is not None:
            held.setdefault(reason, []).append(alert_id)
    for reason, ids in held.items():
        conn.execute(update(ALERT).where(ALERT.c.id.in_(ids)).values(suppressed_by=reason))
    return events


def _update_known(
    conn: Connection,
    known: Sequence[tuple[tuple[str, datetime], int, IncomingAlert]],
    deliveries: Sequence[Delivery],
    silences: ActiveMatchers,
    events: list[dict[str, Any]],
) -> list[int]:
    """Refresh re-sent firing alerts, close resolved ones; per delivery, the number closed."""
    resolved = [0] * len(deliveries)
    refreshed: list[dict[str, Any]] = []
    for _identity, index, alert in known:
        now = deliveries[index].now
        if alert.state is AlertState.FIRING:
            refreshed.append(_refresh_params(alert, now, silences))
            continue
        if refreshed:  # keep the order: earlier refreshes of this identity come first
            conn.execute(_REFRESH, refreshed)
            refreshed = []
        alert_id = conn.execute(_CLOSE, _close_params(alert, now)).scalar_one_or_none()
        if alert_id is not None:  # None: it was closed already
            resolved[index] += 1
            closed_at = _closed_at(alert, now)
            events.append(_event(alert_id, closed_at, AlertState.FIRING, alert.state, None))
    if refreshed:
        conn.execute(_REFRESH, refreshed)
    return resolved


def _dedupe(incoming: Sequence[IncomingAlert]) -> list[IncomingAlert]:
    """One entry per identity (a resolved report wins), sorted by identity for lock order."""
    by_identity: dict[tuple[str, datetime], IncomingAlert] = {}
    for alert in incoming:
        seen = by_identity.get(alert.identity)
        if seen is None or alert.state is AlertState.RESOLVED:
            by_identity[alert.identity] = alert
    return [by_identity[key] for key in sorted(by_identity)]


def _insert_new(dialect: Any) -> Any:
    return (
        dialect.insert(ALERT)
        .on_conflict_do_nothing(index_elements=["source", "fingerprint", "starts_at"])
        .returning(ALERT.c.id, ALERT.c.fingerprint, ALERT.c.starts_at)
    )


# Built once per dialect: the intake hot path runs them on every request.
_INSERT_NEW = {"sqlite": _insert_new(sqlite), "postgresql": _insert_new(postgresql)}
_INSERT_EVENTS = insert(EVENT)


def _closed_at(alert: IncomingAlert, now: datetime) -> datetime:
    return alert.ends_at or now


def _suppression(alert: IncomingAlert, silences: ActiveMatchers) -> str | None:
    silence_id = silence_id_for(alert.labels, silences) if silences else None
    return f"silence:{silence_id}" if silence_id is not None else None


def _row(alert: IncomingAlert, now: datetime) -> dict[str, Any]:
    resolved = alert.state is AlertState.RESOLVED
    return {
        "fingerprint": alert.fingerprint,
        "source": alert.source.value,
        "state": alert.state.value,
        "alertname": alert.labels.get("alertname", "")[:255],
        "service": service_of(alert.labels),
        "labels": canonical_json(alert.labels),
        "annotations": canonical_json(alert.annotations),
        "value": alert.value,
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at,
        "active_at": alert.starts_at,
        "fired_at": alert.starts_at,
        "resolved_at": _closed_at(alert, now) if resolved else None,
        "last_seen_at": now,
        "generator_url": alert.generator_url,
        "receiver": alert.receiver,
        # keep_firing_until, suppressed_by, acked_by, acked_at, rule_group: left NULL
    }


# A re-sent firing alert: note when it was last seen, take its current annotations. A
# firing report about an alert already resolved (a late retry) changes nothing.
_REFRESH = (
    update(ALERT)
    .where(
        ALERT.c.source == bindparam("b_source"),
        ALERT.c.fingerprint == bindparam("b_fingerprint"),
        ALERT.c.starts_at == bindparam("b_starts_at"),
        ALERT.c.state != AlertState.RESOLVED.value,
    )
    .values(
        last_seen_at=bindparam("b_now"),
        annotations=bindparam("b_annotations"),
        value=bindparam("b_value"),
        suppressed_by=bindparam("b_suppressed_by"),
    )
)
# Resolve the stored alert; returns its id, or nothing when it was resolved already.
_CLOSE = (
    update(ALERT)
    .where(
        ALERT.c.source == bindparam("b_source"),
        ALERT.c.fingerprint == bindparam("b_fingerprint"),
        ALERT.c.starts_at == bindparam("b_starts_at"),
        ALERT.c.state != AlertState.RESOLVED.value,
    )
    .values(
        state=AlertState.RESOLVED.value,
        ends_at=bindparam("b_closed_at"),
        resolved_at=bindparam("b_closed_at"),
        last_seen_at=bindparam("b_now"),
        suppressed_by=None,
        annotations=bindparam("b_annotations"),
    )
    .returning(ALERT.c.id)
)


def _identity_params(alert: IncomingAlert, now: datetime) -> dict[str, Any]:
    return {
        "b_source": alert.source.value,
        "b_fingerprint": alert.fingerprint,
        "b_starts_at": alert.starts_at,
        "b_now": now,
        "b_annotations": canonical_json(alert.annotations),
    }


def _refresh_params(alert: IncomingAlert, now: datetime, silences: ActiveMatchers) -> Any:
    return {
        **_identity_params(alert, now),
        "b_value": alert.value,
        "b_suppressed_by": _suppression(alert, silences),
    }


def _close_params(alert: IncomingAlert, now: datetime) -> Any:
    return {**_identity_params(alert, now), "b_closed_at": _closed_at(alert, now)}


def _event(
    alert_id: int,
    at: datetime,
    from_state: AlertState | None,
    to_state: AlertState,
    note: str | None,
) -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "at": at,
        "from_state": from_state.value if from_state else None,
        "to_state": to_state.value,
        "note": note,
    }


def _active_silences(conn: Connection, now: datetime) -> ActiveMatchers:
    """Active silences as (id, matchers): alerts.silences' light query, on our connection."""
    rows = conn.execute(ACTIVE_SILENCES_QUERY, {"now": now})
    return [(int(row[0]), json.loads(row[1])) for row in rows]
