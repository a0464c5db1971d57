"""Alert groups: routing firing alerts into groups, holding them back, and flushing on timers.

Alertmanager's timers: a new group waits `group_wait` before its first notification; after
that it is looked at every `group_interval` and notifies when its alerts changed (a new firing
alert, a resolve), or re-notifies after `repeat_interval` while something unacknowledged fires.

Held back (never sent as firing, and marked on the alert as `suppressed_by`): alerts matched
by an active silence (`silence:<id>`), alerts of a service in a maintenance window
(`maintenance:<service>`), and new alerts of a service whose parent is down
(`parent:<service>`, from `depends_on`). None of these hold back a resolve: once an alert was
notified as firing, its resolve always goes out — even across a restart, because what was
notified is stored per group member, and a flush writes the queued notification and the
member states in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from alerts.models import Alert, AlertSource, AlertState
from alerts.notification_models import (
    Notification,
    NotificationAlert,
    NotificationStatus,
    NotifiedState,
    NotifyGroup,
    NotifyMember,
)
from alerts.payloads import labelset_string, summarize, webhook_payload
from alerts.receivers import NotifyConfig, ReceiverConfig, ReceiverKind, Route
from alerts.silences import active_silences, silence_for
from core.clock import as_utc
from core.db import canonical_json, insert_ignore

TARGET_DOWN_ALERT = "TargetDown"
RESEND_RESOLVED = timedelta(minutes=15)


@dataclass(frozen=True)
class DispatchContext:
    """What dispatch needs from config: receivers and routes, service parents, our URL."""

    notify: NotifyConfig
    parents: Mapping[str, Sequence[str]] = field(default_factory=dict)
    external_url: str = ""
    # Services whose health is down at a time (besides a firing TargetDown alert).
    down_services: Callable[[datetime], set[str]] | None = None


@dataclass(frozen=True)
class Timers:
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta
    ack_stops_repeat: bool = True
    resend_resolved_for: timedelta = timedelta(0)


def timers_for(route: Route, receiver: ReceiverConfig) -> Timers:
    if receiver.kind is ReceiverKind.ALERTMANAGER:
        # Prometheus re-sends active alerts to an Alertmanager every minute (or it resolves
        # them on its own once their endsAt has passed), and resolved ones for 15 minutes.
        minute = timedelta(minutes=1)
        return Timers(
            timedelta(0),
            minute,
            minute,
            ack_stops_repeat=False,
            resend_resolved_for=RESEND_RESOLVED,
        )
    return Timers(
        timedelta(seconds=route.group_wait_s),
        timedelta(seconds=route.group_interval_s),
        timedelta(seconds=route.repeat_interval_s),
    )


def all_routes(route: Route | None) -> dict[str, Route]:
    if route is None:
        return {}
    found = {route.key: route}
    for child in route.routes:
        found.update(all_routes(child))
    return found


def ancestors(service: str, parents: Mapping[str, Sequence[str]]) -> list[str]:
    seen: list[str] = []
    todo = list(parents.get(service, ()))
    while todo:
        parent = todo.pop(0)
        if parent not in seen and parent != service:
            seen.append(parent)
            todo.extend(parents.get(parent, ()))
    return seen


def _hold_reason(
    alert: Alert,
    ctx: DispatchContext,
    silences: Sequence[object],
    down: set[str],
    notified: set[int],
    now: datetime,
) -> str | None:
    labels = alert.label_map
    silence = silence_for(labels, silences)  # type: ignore[arg-type]
    if silence is not None:
        return f"silence:{getattr(silence, 'id', '')}"
    window = ctx.notify.window_for(alert.service, now)
    if window is not None:
        return f"maintenance:{window.service}"
    if alert.service and alert.id not in notified:
        for parent in ancestors(alert.service, ctx.parents):
            if parent in down:
                return f"parent:{parent}"
    return None


def _down(firing: list[Alert], ctx: DispatchContext, now: datetime) -> set[str]:
    """Services that are down: their TargetDown alert fires, or their health says so."""
    down = {a.service for a in firing if a.alertname == TARGET_DOWN_ALERT and a.service}
    if ctx.down_services is not None and ctx.parents:
        down |= ctx.down_services(now)
    return down


def route_alerts(session: Session, ctx: DispatchContext, now: datetime) -> int:
    """Mark held-back alerts and put the others into their groups; returns groups touched."""
    firing = list(
        session.exec(
            select(Alert).where(
                Alert.source == AlertSource.OWN.value, Alert.state == AlertState.FIRING.value
            )
        ).all()
    )
    down = _down(firing, ctx, now)
    notified_query = select(NotifyMember.alert_id).where(
        NotifyMember.notified_state == NotifiedState.FIRING.value
    )
    notified = set(session.exec(notified_query).all())
    silences = active_silences(session, now)
    # Memberships already stored need no work (a firing alert is routed every few seconds).
    known = set(
        session.exec(
            select(NotifyGroup.group_hash, NotifyMember.alert_id).join(
                NotifyMember, col(NotifyMember.group_id) == NotifyGroup.id
            )
        ).all()
    )
    touched = 0
    for alert in firing:
        reason = _hold_reason(alert, ctx, silences, down, notified, now)
        if reason != alert.suppressed_by:
            alert.suppressed_by = reason
            session.add(alert)
        if reason is not None or ctx.notify.route is None:
            continue
        labels = alert.label_map
        for route in ctx.notify.route.match(labels):
            receiver = ctx.notify.receivers[route.receiver]
            if (_identity(route, receiver, labels)[1], alert.id) in known:
                continue
            group_id = _ensure_group(session, route, receiver, labels, now)
            assert alert.id is not None
            touched += _ensure_member(session, group_id, alert.id)
    session.flush()
    return touched


def insert_if_new(session: Session, table: object, values: dict[str, object]) -> int:
    """Insert one row unless it hits a unique key; 1 if it was inserted, else 0."""
    stmt = insert_ignore(session, table).values(**values)
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def _identity(
    route: Route, receiver: ReceiverConfig, labels: Mapping[str, str]
) -> tuple[str, str, dict[str, str]]:
    """(group key as Alertmanager writes it, its hash with the receiver, group labels)."""
    group_labels = route.group_labels(labels)
    key = f"{route.key}:{labelset_string(group_labels)}"
    digest = hashlib.sha256(f"{receiver.name}\n{key}".encode()).hexdigest()
    return key, digest, group_labels


def _ensure_group(
    session: Session,
    route: Route,
    receiver: ReceiverConfig,
    labels: Mapping[str, str],
    now: datetime,
) -> int:
    key, digest, group_labels = _identity(route, receiver, labels)
    timers = timers_for(route, receiver)
    insert_if_new(
        session,
        NotifyGroup.__table__,  # type: ignore[attr-defined]
        {
            "receiver": receiver.name,
            "group_hash": digest,
            "group_key": key,
            "group_labels": canonical_json(group_labels),
            "next_flush_at": now + timers.group_wait,
            "created_at": now,
        },
    )
    group_id = session.exec(select(NotifyGroup.id).where(NotifyGroup.group_hash == digest)).one()
    assert group_id is not None
    # A group that went idle (nothing left to notify) starts again with group_wait.
    session.execute(
        update(NotifyGroup)
        .where(col(NotifyGroup.id) == group_id, col(NotifyGroup.next_flush_at).is_(None))
        .values(next_flush_at=now + timers.group_wait)
    )
    return group_id


def _ensure_member(session: Session, group_id: int, alert_id: int) -> int:
    return insert_if_new(
        session,
        NotifyMember.__table__,  # type: ignore[attr-defined]
        {"group_id": group_id, "alert_id": alert_id},
    )


def due_groups(session: Session, now: datetime, limit: int = 100) -> list[NotifyGroup]:
    query = (
        select(NotifyGroup)
        .where(col(NotifyGroup.next_flush_at).is_not(None), col(NotifyGroup.next_flush_at) <= now)
        .order_by(col(NotifyGroup.next_flush_at))
        .limit(limit)
    )
    return list(session.exec(query).all())


def _group_timers(ctx: DispatchContext, group: NotifyGroup) -> Timers:
    receiver = ctx.notify.receivers.get(group.receiver)
    route_key = group.group_key.rsplit(":{", 1)[0]
    route = all_routes(ctx.notify.route).get(route_key) or ctx.notify.route
    if receiver is None or route is None:
        # The receiver left the config: keep the group (its resolves are owed), look later.
        return Timers(timedelta(0), timedelta(minutes=5), timedelta(hours=4))
    return timers_for(route, receiver)


def flush_group(
    session: Session, ctx: DispatchContext, group: NotifyGroup, now: datetime
) -> Notification | None:
    """Claim a due group and queue its notification if it has news; the caller commits."""
    receiver = ctx.notify.receivers.get(group.receiver)
    timers = _group_timers(ctx, group)
    claimed = session.execute(
        update(NotifyGroup)
        .where(
            col(NotifyGroup.id) == group.id, col(NotifyGroup.next_flush_at) == group.next_flush_at
        )
        .values(next_flush_at=now + timers.group_interval, last_flushed_at=now)
    )
    if claimed.rowcount != 1 or receiver is None:  # type: ignore[attr-defined]
        return None
    rows = session.exec(
        select(NotifyMember, Alert)
        .join(Alert, col(Alert.id) == NotifyMember.alert_id)
        .where(NotifyMember.group_id == group.id)
    ).all()
    members = _sort_members(list(rows), timers, now)
    repeat_due = (
        group.last_notified_at is None
        or now - as_utc(group.last_notified_at) >= timers.repeat_interval
    )
    wants_repeat = members.resolved_again or any(
        a.acked_at is None or not timers.ack_stops_repeat for _, a in members.firing
    )
    notification = None
    if members.changed or (repeat_due and wants_repeat):
        sent = members.firing + members.resolved_new + members.resolved_again
        notification = _queue(session, ctx, group, receiver, [a for _, a in sent], now)
    _settle(session, group, members, notified=notification is not None, left=len(rows), now=now)
    return notification


def _settle(
    session: Session,
    group: NotifyGroup,
    members: _Sorted,
    *,
    notified: bool,
    left: int,
    now: datetime,
) -> None:
    """Store what was notified, drop finished members, idle the group when it is empty."""
    if notified:
        session.execute(
            update(NotifyGroup).where(col(NotifyGroup.id) == group.id).values(last_notified_at=now)
        )
        for member, alert in members.firing + members.resolved_new:
            member.notified_state, member.notified_at = alert.state, now
            session.add(member)
    for member in members.done:
        session.execute(
            delete(NotifyMember).where(
                col(NotifyMember.group_id) == member.group_id,
                col(NotifyMember.alert_id) == member.alert_id,
            )
        )
    if len(members.done) == left:
        session.execute(
            update(NotifyGroup).where(col(NotifyGroup.id) == group.id).values(next_flush_at=None)
        )
    session.flush()


@dataclass
class _Sorted:
    """A group's members at flush time, by what the flush does with them."""

    firing: list[tuple[NotifyMember, Alert]] = field(default_factory=list)
    resolved_new: list[tuple[NotifyMember, Alert]] = field(default_factory=list)
    resolved_again: list[tuple[NotifyMember, Alert]] = field(default_factory=list)
    done: list[NotifyMember] = field(default_factory=list)  # leave the group after this flush

    @property
    def changed(self) -> bool:
        return bool(self.resolved_new) or any(
            m.notified_state != NotifiedState.FIRING.value for m, _ in self.firing
        )


def _sort_members(rows: list[tuple[NotifyMember, Alert]], timers: Timers, now: datetime) -> _Sorted:
    out = _Sorted()
    for member, alert in rows:
        if alert.state == AlertState.FIRING.value:
            if not alert.suppressed_by:
                out.firing.append((member, alert))
            continue
        if alert.state != AlertState.RESOLVED.value:
            if not member.notified_state:
                out.done.append(member)
            continue
        resolved_at = as_utc(alert.resolved_at or now)
        resend = now - resolved_at < timers.resend_resolved_for
        if member.notified_state == NotifiedState.FIRING.value:
            out.resolved_new.append((member, alert))
            if not resend:
                out.done.append(member)
        elif member.notified_state == NotifiedState.RESOLVED.value and resend:
            out.resolved_again.append((member, alert))
        else:
            out.done.append(member)
    return out


def _queue(
    session: Session,
    ctx: DispatchContext,
    group: NotifyGroup,
    receiver: ReceiverConfig,
    alerts: list[Alert],
    now: datetime,
) -> Notification:
    payload = webhook_payload(
        receiver, group.group_key, json.loads(group.group_labels), alerts, ctx.external_url
    )
    notification = Notification(
        group_id=group.id,
        receiver=receiver.name,
        status=NotificationStatus.QUEUED.value,
        payload=json.dumps(payload, ensure_ascii=False),
        summary=summarize(payload),
        is_test=False,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(notification)
    session.flush()
    assert notification.id is not None
    for alert in alerts:
        assert alert.id is not None
        session.add(
            NotificationAlert(
                notification_id=notification.id, alert_id=alert.id, sent_state=alert.state
            )
        )
    return notification
