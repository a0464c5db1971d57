"""Storing foreign alerts idempotently: bulk insert-on-conflict, then close what resolved.

Alertmanager re-sends a notification after a failure or timeout, and several web
processes may receive the same one at once, so identity (source, fingerprint, startsAt) is
a unique constraint and new rows go in with INSERT ... ON CONFLICT DO NOTHING: never a
check-then-insert race. Rows are written in identity order so that two concurrent
transactions on PostgreSQL take their row locks in the same order and cannot deadlock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session

from alerts.intake import IncomingAlert
from alerts.models import Alert, AlertEvent, AlertState, canonical_json
from alerts.silences import ActiveMatchers, active_matchers, silence_id_for
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


def ingest_alerts(
    session: Session, incoming: Sequence[IncomingAlert], now: datetime
) -> IngestResult:
    """Store new alerts, close stored ones reported resolved; the caller commits.

    Run it in a transaction whose first statement is this insert: on SQLite a read before
    the write could make the lock upgrade fail under concurrent writers. Active silences
    are read after the insert, once the write lock is held.
    """
    alerts = _dedupe(incoming)
    if not alerts:
        return IngestResult(received=len(incoming), created=0, resolved=0, unchanged=0)
    conn = session.connection()
    # executemany: SQLAlchemy's "insertmanyvalues" sends one multi-row INSERT per batch
    # from a statement compiled once and cached, instead of compiling .values(rows) per call.
    rows = [_row(a, now) for a in alerts]
    stmt = _INSERT_NEW[conn.dialect.name]
    created = {(fp, starts): alert_id for alert_id, fp, starts in conn.execute(stmt, rows)}
    silences = active_matchers(session, now)
    events = _note_new(conn, alerts, created, silences, now)
    known = [a for a in alerts if a.identity not in created]
    resolved = _update_known(conn, known, silences, now, events)
    if events:
        conn.execute(_INSERT_EVENTS, events)
    return IngestResult(
        received=len(incoming),
        created=len(created),
        resolved=resolved,
        unchanged=len(known) - resolved,
    )


def _note_new(
    conn: Connection,
    alerts: Sequence[IncomingAlert],
    created: dict[tuple[str, datetime], int],
    silences: ActiveMatchers,
    now: datetime,
) -> list[dict[str, Any]]:
    """First history events of the new rows; mark the ones an active silence holds back."""
    events = []
    held: dict[str, list[int]] = {}
    for alert in alerts:
        alert_id = created.get(alert.identity)
        if alert_id is None:
            continue
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
    known: Sequence[IncomingAlert],
    silences: ActiveMatchers,
    now: datetime,
    events: list[dict[str, Any]],
) -> int:
    """Refresh re-sent firing alerts, close resolved ones; the number closed now."""
    resolved = 0
    refreshed = []
    for alert in known:
        if alert.state is AlertState.FIRING:
            refreshed.append(_refresh_params(alert, now, silences))
            continue
        alert_id = conn.execute(_CLOSE, _close_params(alert, now)).scalar_one_or_none()
        if alert_id is not None:  # None: it was closed already
            resolved += 1
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
        "keep_firing_until": None,
        "generator_url": alert.generator_url,
        "receiver": alert.receiver,
        "suppressed_by": None,
        "acked_by": None,
        "acked_at": None,
        "rule_group": None,
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
        "value": None,
        "note": note,
    }


def receive_alerts(
    session: Session, incoming: Sequence[IncomingAlert], now: datetime
) -> IngestResult:
    """The intake use case: one write transaction, committed."""
    # End whatever read transaction the session has open (the token check), so that the
    # write transaction starts with its insert (see ingest_alerts).
    session.commit()
    with _writer_turn(session.get_bind()):
        result = ingest_alerts(session, incoming, now)
        session.commit()
    return result


_SQLITE_WRITERS: WeakKeyDictionary[Any, threading.Lock] = WeakKeyDictionary()
_SQLITE_WRITERS_GUARD = threading.Lock()


@contextmanager
def _writer_turn(bind: Any) -> Iterator[None]:
    """On SQLite, let this process's intake threads take turns at the single write lock.

    SQLite lets one writer in at a time, and a waiting connection polls with sleeps that
    grow to 100 ms; queueing on a Python lock instead wakes the next writer as soon as the
    previous one commits. PostgreSQL needs no turn: rows lock individually.
    """
    engine = getattr(bind, "engine", bind)
    if engine.dialect.name != "sqlite":
        yield
        return
    with _SQLITE_WRITERS_GUARD:
        lock = _SQLITE_WRITERS.setdefault(engine, threading.Lock())
    with lock:
        yield
