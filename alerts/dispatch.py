"""Notification dispatch: route and flush groups, deliver queued notifications with retries.

Each step is small, takes `now`, and claims its work with an atomic `UPDATE ... WHERE`
checked by row count, so two workers (or a restarted one) never do the same work twice:
- a due group is claimed by moving its `next_flush_at` (see alerts.grouping);
- a queued notification is claimed by setting it `sending` with a lease; a worker that dies
  mid-request leaves the lease to expire and the notification is tried again (the only case
  where a receiver can see a message twice: the first request may have arrived).
Notifications of one group are delivered in order: a later one waits while an earlier one
is still queued, so a resolve never overtakes its firing.

Retry policy: network errors, timeouts, 5xx, 408 and 429 are retried with exponential
backoff (10s, 20s, 40s ... capped at 10 minutes) up to MAX_ATTEMPTS; other 4xx answers are
permanent: the notification fails at once and the receiver shows it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from alerts.errors import NotifyError
from alerts.grouping import (
    DispatchContext,
    due_groups,
    flush_group,
    insert_if_new,
    route_alerts,
)
from alerts.notification_models import (
    Notification,
    NotificationAlert,
    NotificationAttempt,
    NotificationStatus,
    ReceiverState,
)
from alerts.payloads import summarize
from alerts.receivers import ReceiverConfig
from alerts.senders import DeliveryResult, go_time, sender_for
from core.db import reading

log = logging.getLogger(__name__)

DISPATCH_INTERVAL_S = 5.0
MAX_ATTEMPTS = 8
BACKOFF_BASE_S = 10.0
BACKOFF_MAX_S = 600.0
LEASE_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True)
class StepReport:
    groups_touched: int = 0
    queued: int = 0
    attempts: int = 0


@dataclass(frozen=True)
class AttemptView:
    """One delivery attempt as the alert detail and receivers pages show it."""

    attempted_at: datetime
    receiver: str
    status_code: int | None
    latency_ms: float
    ok: bool
    permanent: bool
    error: str | None
    notification_id: int
    notification_status: str
    sent_state: str | None = None


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed tries."""
    return timedelta(seconds=min(BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


def run_dispatch(engine: Engine, ctx: DispatchContext, now: datetime) -> StepReport:
    """One dispatcher pass: route alerts into groups, flush due groups, deliver what is due."""
    with Session(engine, expire_on_commit=False) as session:
        touched = route_alerts(session, ctx, now)
        session.commit()
        queued = 0
        groups = due_groups(session, now)
        session.commit()
        for group in groups:
            if flush_group(session, ctx, group, now) is not None:
                queued += 1
            session.commit()
    attempts = deliver_due(engine, ctx, now)
    return StepReport(groups_touched=touched, queued=queued, attempts=attempts)


def _due_ids(session: Session, now: datetime, limit: int) -> list[int]:
    earlier = aliased(Notification)
    blocked = exists().where(
        col(earlier.group_id) == col(Notification.group_id),
        col(earlier.id) < col(Notification.id),
        col(earlier.status).in_(
            [NotificationStatus.QUEUED.value, NotificationStatus.SENDING.value]
        ),
    )
    query = (
        select(Notification.id)
        .where(_claimable(now), ~blocked)
        .order_by(col(Notification.id))
        .limit(limit)
    )
    return [i for i in session.exec(query).all() if i is not None]


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(
            col(Notification.status) == NotificationStatus.QUEUED.value,
            col(Notification.next_attempt_at) <= now,
        ),
        and_(
            col(Notification.status) == NotificationStatus.SENDING.value,
            col(Notification.lease_until) < now,
        ),
    )


def deliver_due(engine: Engine, ctx: DispatchContext, now: datetime, limit: int = 50) -> int:
    """Deliver due notifications; returns the number of attempts made."""
    with Session(reading(engine), expire_on_commit=False) as session:
        ids = _due_ids(session, now, limit)
    attempts = 0
    for notification_id in ids:
        if deliver_one(engine, ctx, notification_id, now) is not None:
            attempts += 1
    return attempts


def deliver_one(
    engine: Engine, ctx: DispatchContext, notification_id: int, now: datetime
) -> DeliveryResult | None:
    """Claim one notification, send it, store the attempt; None if another worker has it."""
    with Session(engine, expire_on_commit=False) as session:
        notification = session.get(Notification, notification_id)
        if notification is None:
            return None
        receiver = ctx.notify.receivers.get(notification.receiver)
        timeout_s = receiver.timeout_s if receiver else 10.0
        claimed = session.execute(
            update(Notification)
            .where(col(Notification.id) == notification_id, _claimable(now))
            .values(
                status=NotificationStatus.SENDING.value,
                lease_until=now + timedelta(seconds=timeout_s) + LEASE_MARGIN,
            )
        )
        session.commit()
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        payload = json.loads(notification.payload)
    if receiver is None:
        result = DeliveryResult(
            False, None, 0.0, f"receiver {notification.receiver!r} is not configured", True
        )
    else:
        result = sender_for(receiver).send(payload, now)
    with Session(engine, expire_on_commit=False) as session:
        _record(session, notification_id, notification.receiver, result, now)
        session.commit()
    if not result.ok:
        log.warning(
            "notification %s to %s failed: %s", notification_id, notification.receiver, result.error
        )
    return result


def _record(
    session: Session, notification_id: int, receiver: str, result: DeliveryResult, now: datetime
) -> None:
    notification = session.get(Notification, notification_id)
    assert notification is not None
    session.add(
        NotificationAttempt(
            notification_id=notification_id,
            receiver=receiver,
            attempted_at=now,
            status_code=result.status_code,
            latency_ms=round(result.latency_ms, 3),
            ok=result.ok,
            permanent=result.permanent,
            error=result.error,
        )
    )
    notification.attempts += 1
    notification.lease_until = None
    if result.ok:
        notification.status = NotificationStatus.DELIVERED.value
        notification.finished_at = now
        notification.last_error = None
    elif result.permanent or notification.attempts >= MAX_ATTEMPTS:
        notification.status = NotificationStatus.FAILED.value
        notification.finished_at = now
        suffix = "" if result.permanent else f" (gave up after {notification.attempts} attempts)"
        notification.last_error = f"{result.error}{suffix}"
    else:
        notification.status = NotificationStatus.QUEUED.value
        notification.next_attempt_at = now + backoff(notification.attempts)
        notification.last_error = result.error
    session.add(notification)
    _update_receiver_state(session, receiver, result, now)


def _update_receiver_state(
    session: Session, receiver: str, result: DeliveryResult, now: datetime
) -> None:
    # Insert-or-ignore then one UPDATE: two workers finishing at once neither collide on
    # the insert nor lose a failure count.
    insert_if_new(
        session,
        ReceiverState.__table__,  # type: ignore[attr-defined]
        {"name": receiver, "last_permanent": False, "consecutive_failures": 0},
    )
    values: dict[str, object] = {
        "last_attempt_at": now,
        "last_status_code": result.status_code,
        "last_latency_ms": round(result.latency_ms, 3),
        "last_permanent": result.permanent,
    }
    if result.ok:
        values.update(last_success_at=now, last_error=None, consecutive_failures=0)
    else:
        values.update(
            last_error=result.error,
            consecutive_failures=col(ReceiverState.consecutive_failures) + 1,
        )
    session.execute(
        update(ReceiverState).where(col(ReceiverState.name) == receiver).values(**values)
    )


def trial_payload(receiver: ReceiverConfig, external_url: str, now: datetime) -> dict[str, object]:
    labels = {"alertname": "OpsloopTestNotification", "severity": "none", "receiver": receiver.name}
    annotations = {"summary": f"Test notification from opsloop to {receiver.name}"}
    return {
        "receiver": receiver.name,
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": annotations,
                "startsAt": go_time(now),
                "endsAt": go_time(None),
                "generatorURL": f"{external_url}/receivers/",
                "fingerprint": "0000000000000000",
            }
        ],
        "groupLabels": {},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": external_url,
        "version": "4",
        "groupKey": "{}/test:{}",
        "truncatedAlerts": 0,
    }


def send_test_notification(
    engine: Engine, ctx: DispatchContext, receiver_name: str, now: datetime
) -> DeliveryResult:
    """Queue a test message to one receiver and try it at once (logged like any other)."""
    receiver = ctx.notify.receivers.get(receiver_name)
    if receiver is None:
        raise NotifyError(f"no receiver named {receiver_name!r}", permanent=True)
    payload = trial_payload(receiver, ctx.external_url, now)
    with Session(engine, expire_on_commit=False) as session:
        notification = Notification(
            receiver=receiver.name,
            status=NotificationStatus.QUEUED.value,
            payload=json.dumps(payload),
            summary="test notification: " + summarize(payload),
            is_test=True,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(notification)
        session.commit()
        assert notification.id is not None
        notification_id = notification.id
    result = deliver_one(engine, ctx, notification_id, now)
    assert result is not None  # just created, nobody else can hold it
    return result


def attempts_for_alert(session: Session, alert_id: int) -> list[AttemptView]:
    """Every delivery attempt of every notification that carried this alert, newest first."""
    rows = session.exec(
        select(NotificationAttempt, Notification, NotificationAlert)
        .join(Notification, col(Notification.id) == NotificationAttempt.notification_id)
        .join(NotificationAlert, col(NotificationAlert.notification_id) == Notification.id)
        .where(NotificationAlert.alert_id == alert_id)
        .order_by(col(NotificationAttempt.attempted_at).desc(), col(NotificationAttempt.id).desc())
    ).all()
    return [_view(attempt, notification, link.sent_state) for attempt, notification, link in rows]


def attempts_for_receiver(session: Session, receiver: str, limit: int = 50) -> list[AttemptView]:
    rows = session.exec(
        select(NotificationAttempt, Notification)
        .join(Notification, col(Notification.id) == NotificationAttempt.notification_id)
        .where(NotificationAttempt.receiver == receiver)
        .order_by(col(NotificationAttempt.attempted_at).desc(), col(NotificationAttempt.id).desc())
        .limit(limit)
    ).all()
    return [_view(attempt, notification, None) for attempt, notification in rows]


def receiver_states(session: Session, names: Sequence[str]) -> dict[str, ReceiverState]:
    rows = session.exec(select(ReceiverState).where(col(ReceiverState.name).in_(list(names))))
    return {r.name: r for r in rows.all()}


def _view(
    attempt: NotificationAttempt, notification: Notification, sent_state: str | None
) -> AttemptView:
    return AttemptView(
        attempted_at=attempt.attempted_at,
        receiver=attempt.receiver,
        status_code=attempt.status_code,
        latency_ms=attempt.latency_ms,
        ok=attempt.ok,
        permanent=attempt.permanent,
        error=attempt.error,
        notification_id=notification.id or 0,
        notification_status=notification.status,
        sent_state=sent_state,
    )
