"""Storing foreign alerts idempotently: bulk insert-on-conflict, then close what resolved.

Alertmanager re-sends a notification after a failure or timeout, and several web
processes may receive the same one at once, so identity (source, fingerprint, startsAt) is
a unique constraint and new rows go in with INSERT ... ON CONFLICT DO NOTHING: never a
check-then-insert race. Rows are written in identity order so that two concurrent
transactions on PostgreSQL take their row locks in the same order and cannot deadlock.

Several webhooks can be stored in one transaction (ingest_batch), with the result each
would have had alone: alerts.group_commit batches concurrent requests that way. The rules
live in ingest_with, over a writer of the statements: CoreWriter here (SQLAlchemy Core, any
database), alerts.ingest_sqlite's DriverWriter for the intake on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

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
    # The same rows as DBAPI-ready values for alerts.ingest_sqlite, bound before queueing.
    bound: list[tuple[Any, ...]] | None = None
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
    """Store several webhooks' alerts in one transaction, as if stored one after another."""
    return ingest_with(CoreWriter(conn), deliveries)


class IntakeWriter(Protocol):
    """The intake's statements on one transaction. A row is the writer's own form of an
    alert's insert row (a dict for Core, DBAPI-ready values for the SQLite driver path)."""

    def rows(self, delivery: Delivery) -> Sequence[Any]: ...

    def key(self, row: Any) -> Hashable: ...

    def insert_new(self, rows: list[Any]) -> dict[Hashable, int]:
        """Insert the rows not stored yet; the new ones' ids by key(row)."""
        ...

    def active_silences(self, now: datetime) -> ActiveMatchers: ...

    def mark_suppressed(self, reason: str, ids: list[int]) -> None: ...

    def refresh(self, refreshed: list[tuple[Any, str | None]]) -> None:
        """Re-sent firing alerts, each with the suppression it has now."""
        ...

    def close(self, row: Any) -> int | None:
        """Resolve the stored alert; its id, or None when it was resolved already."""
        ...

    def event(
        self, alert_id: int, row: Any, from_state: AlertState | None, note: str | None
    ) -> Any:
        """A history event to the row's state, at its start (firing) or its close (resolved)."""
        ...

    def insert_events(self, events: list[Any]) -> None: ...


def ingest_with(writer: IntakeWriter, deliveries: Sequence[Delivery]) -> list[IngestResult]:
    """ingest_batch on any writer: the rules of identity and idempotency live here only.

    The first delivery that carries an identity inserts it; a later one in the same batch
    finds it stored, as it would have a moment later. Updates run in identity order (then
    delivery order), so on PostgreSQL two transactions take row locks in the same order.
    Active silences are read after the insert, at the latest `now` of the batch.
    """
    first: dict[tuple[str, datetime], tuple[int, Any]] = {}
    for index, delivery in enumerate(deliveries):
        for alert, row in zip(delivery.alerts, writer.rows(delivery), strict=True):
            first.setdefault(alert.identity, (index, row))
    if not first:
        return [_counted(d, 0, 0) for d in deliveries]
    created = writer.insert_new([first[key][1] for key in sorted(first)])
    silences = writer.active_silences(max(d.now for d in deliveries))
    events: list[Any] = []
    new_counts = [0] * len(deliveries)
    known: list[_Known] = []
    for index, delivery in enumerate(deliveries):
        new = []
        for alert, row in zip(delivery.alerts, writer.rows(delivery), strict=True):
            alert_id = created.get(writer.key(row))
            if alert_id is not None and first[alert.identity][0] == index:
                new.append((alert, row, alert_id))
            else:
                known.append((alert.identity, index, alert, row))
        events += _note_new(writer, new, silences)
        new_counts[index] = len(new)
    resolved = _update_known(writer, sorted(known, key=_op_order), len(deliveries), silences)
    events += resolved.events
    if events:
        writer.insert_events(events)
    return [_counted(d, new_counts[i], resolved.counts[i]) for i, d in enumerate(deliveries)]


# (identity, delivery index, alert, the writer's row) of an alert that was stored already
_Known = tuple[tuple[str, datetime], int, IncomingAlert, Any]


def _op_order(op: _Known) -> tuple[Any, int]:
    return op[0], op[1]


def _counted(delivery: Delivery, created: int, resolved: int) -> IngestResult:
    unchanged = len(delivery.alerts) - created - resolved
    return IngestResult(len(delivery.incoming), created, resolved, unchanged)


def _note_new(
    writer: IntakeWriter,
    new: Sequence[tuple[IncomingAlert, Any, int]],
    silences: ActiveMatchers,
) -> list[Any]:
    """First history events of the new rows; mark the ones an active silence holds back."""
    events = []
    held: dict[str, list[int]] = {}
    for alert, row, alert_id in new:
        # The timeline shows when the alert started, not when we heard of it.
        events.append(writer.event(alert_id, row, None, "received"))
        closed = alert.state is AlertState.RESOLVED
        reason = None if closed else _suppression(alert, silences)
        if reason is not None:
            held.setdefault(reason, []).append(alert_id)
    for reason, ids in held.items():
        writer.mark_suppressed(reason, ids)
    return events


@dataclass
class _Resolved:
    counts: list[int]
    events: list[Any]


def _update_known(
    writer: IntakeWriter, known: Sequence[_Known], deliveries: int, silences: ActiveMatchers
) -> _Resolved:
    """Refresh re-sent firing alerts, close resolved ones; per delivery, the number closed."""
    resolved = _Resolved([0] * deliveries, [])
    refreshed: list[tuple[Any, str | None]] = []
    for _identity, index, alert, row in known:
        if alert.state is AlertState.FIRING:
            refreshed.append((row, _suppression(alert, silences)))
            continue
        if refreshed:  # keep the order: earlier refreshes of this identity come first
            writer.refresh(refreshed)
            refreshed = []
        alert_id = writer.close(row)
        if alert_id is not None:  # None: it was closed already
            resolved.counts[index] += 1
            resolved.events.append(writer.event(alert_id, row, AlertState.FIRING, None))
    if refreshed:
        writer.refresh(refreshed)
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
INSERT_NEW = {"sqlite": _insert_new(sqlite), "postgresql": _insert_new(postgresql)}
INSERT_EVENTS = insert(EVENT)


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
REFRESH_ALERT = (
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
CLOSE_ALERT = (
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


def event_at(row: dict[str, Any]) -> datetime:
    """When a history event to the row's state happened: its start, or its close."""
    at: datetime = (
        row["resolved_at"] if row["state"] == AlertState.RESOLVED.value else row["starts_at"]
    )
    return at


class CoreWriter:
    """The intake's statements through SQLAlchemy Core, on any dialect; rows are dicts."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def rows(self, delivery: Delivery) -> Sequence[dict[str, Any]]:
        return delivery.rows

    def key(self, row: dict[str, Any]) -> Hashable:
        return row["fingerprint"], row["starts_at"]

    def insert_new(self, rows: list[dict[str, Any]]) -> dict[Hashable, int]:
        # executemany: SQLAlchemy's "insertmanyvalues" sends one multi-row INSERT per batch
        # from a statement compiled once and cached, instead of compiling .values(rows).
        stmt = INSERT_NEW[self.conn.dialect.name]
        return {(fp, starts): alert_id for alert_id, fp, starts in self.conn.execute(stmt, rows)}

    def active_silences(self, now: datetime) -> ActiveMatchers:
        """Active silences as (id, matchers): alerts.silences' light query, on our connection."""
        rows = self.conn.execute(ACTIVE_SILENCES_QUERY, {"now": now})
        return [(int(row[0]), json.loads(row[1])) for row in rows]

    def mark_suppressed(self, reason: str, ids: list[int]) -> None:
        self.conn.execute(update(ALERT).where(ALERT.c.id.in_(ids)).values(suppressed_by=reason))

    def refresh(self, refreshed: list[tuple[dict[str, Any], str | None]]) -> None:
        params = [
            {**_identity_params(row), "b_value": row["value"], "b_suppressed_by": reason}
            for row, reason in refreshed
        ]
        self.conn.execute(REFRESH_ALERT, params)

    def close(self, row: dict[str, Any]) -> int | None:
        params = {**_identity_params(row), "b_closed_at": row["resolved_at"]}
        alert_id: int | None = self.conn.execute(CLOSE_ALERT, params).scalar_one_or_none()
        return alert_id

    def event(
        self,
        alert_id: int,
        row: dict[str, Any],
        from_state: AlertState | None,
        note: str | None,
    ) -> dict[str, Any]:
        return {
            "alert_id": alert_id,
            "at": event_at(row),
            "from_state": from_state.value if from_state else None,
            "to_state": row["state"],
            "note": note,
        }

    def insert_events(self, events: list[dict[str, Any]]) -> None:
        self.conn.execute(INSERT_EVENTS, events)


def _identity_params(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "b_source": row["source"],
        "b_fingerprint": row["fingerprint"],
        "b_starts_at": row["starts_at"],
        "b_now": row["last_seen_at"],
        "b_annotations": row["annotations"],
    }
