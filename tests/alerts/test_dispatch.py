"""Dispatch to real local HTTP receivers: grouping, timers, payload format, restart safety."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from alerts.dispatch import attempts_for_alert, run_dispatch
from alerts.fingerprint import fingerprint
from alerts.grouping import DispatchContext
from alerts.models import Alert, AlertState
from alerts.notification_models import Notification, NotifyMember
from alerts.receivers import parse_notify_config
from alerts.silences import create_silence
from alerts.store import acknowledge, upsert_own_alert
from core.config import RawConfig
from tests.alerts.receiver_server import Receiver, running

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EXTERNAL = "http://opsloop.example"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def context(url: str, *, receiver: dict | None = None, route: dict | None = None, **extra):
    raw = RawConfig(
        {
            "receivers": [{"name": "ops", "webhook": {"url": url, **(receiver or {})}}],
            "route": {"receiver": "ops", "group_by": ["alertname"], **(route or {})},
            "maintenance_windows": extra.pop("windows", []),
        }
    )
    return DispatchContext(parse_notify_config(raw), external_url=EXTERNAL, **extra)


def fire(engine, name="HighLatency", now=T0, **labels) -> int:
    labels = {"alertname": name, "service": "api", "severity": "page", **labels}
    with Session(engine) as s:
        alert = upsert_own_alert(
            s,
            fingerprint=fingerprint(labels),
            labels=labels,
            annotations={"summary": f"{name} on {labels['service']}"},
            state=AlertState.FIRING,
            value=1.5,
            now=now,
            active_at=now - timedelta(minutes=1),
            fired_at=now,
        )
        s.commit()
        assert alert is not None and alert.id is not None
        return alert.id


def resolve(engine, alert_id: int, now: datetime) -> None:
    with Session(engine) as s:
        alert = s.get(Alert, alert_id)
        upsert_own_alert(
            s,
            fingerprint=alert.fingerprint,
            labels=alert.label_map,
            annotations=alert.annotation_map,
            state=AlertState.RESOLVED,
            value=0.0,
            now=now,
            active_at=alert.active_at,
        )
        s.commit()


def statuses(receiver: Receiver) -> list[list[str]]:
    return [[a["status"] for a in r.json()["alerts"]] for r in receiver.requests]


def test_the_webhook_gets_alertmanagers_v4_payload_after_group_wait_signed(engine):
    with running(Receiver()) as rx:
        ctx = context(rx.url, receiver={"hmac_secret": "s3cret", "bearer_token": "tok"})
        alert_id = fire(engine)
        fire(engine, instance="b")
        run_dispatch(engine, ctx, at(0))
        run_dispatch(engine, ctx, at(29))
        assert rx.requests == []  # group_wait is 30s
        run_dispatch(engine, ctx, at(30))
        assert len(rx.requests) == 1
        request = rx.requests[0]

    body = request.json()
    assert set(body) == {
        "receiver", "status", "alerts", "groupLabels", "commonLabels", "commonAnnotations",
        "externalURL", "version", "groupKey", "truncatedAlerts",
    }  # fmt: skip
    assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "ops"
    assert body["groupLabels"] == {"alertname": "HighLatency"}
    assert body["groupKey"] == '{}:{alertname="HighLatency"}'
    assert body["commonLabels"] == {
        "alertname": "HighLatency",
        "service": "api",
        "severity": "page",
    }
    assert body["commonAnnotations"] == {"summary": "HighLatency on api"}
    assert body["externalURL"] == EXTERNAL and body["truncatedAlerts"] == 0
    first = next(a for a in body["alerts"] if "instance" not in a["labels"])
    assert set(first) == {
        "status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint",
    }  # fmt: skip
    assert first["startsAt"] == "2026-11-26T12:00:00Z"
    assert first["endsAt"] == "0001-01-01T00:00:00Z"
    assert first["fingerprint"] == fingerprint(first["labels"])
    assert first["generatorURL"] == f"{EXTERNAL}/alerts/{alert_id}"
    assert len(body["alerts"]) == 2

    assert request.headers["Authorization"] == "Bearer tok"
    assert request.headers["User-Agent"].startswith("opsloop/")
    stamp = request.headers["X-Opsloop-Timestamp"]
    expected = hmac.new(b"s3cret", stamp.encode() + b"." + request.body, hashlib.sha256)
    assert request.headers["X-Opsloop-Signature"] == "sha256=" + expected.hexdigest()


def test_a_failing_receiver_is_retried_with_backoff_until_it_recovers(engine):
    with running(Receiver(script=[503, 500])) as rx:
        ctx = context(rx.url, route={"group_wait": "0s"})
        alert_id = fire(engine)
        run_dispatch(engine, ctx, at(0))  # 503
        run_dispatch(engine, ctx, at(9))  # backoff 10s: not yet
        assert len(rx.requests) == 1
        run_dispatch(engine, ctx, at(10))  # 500
        run_dispatch(engine, ctx, at(29))  # backoff 20s: not yet
        assert len(rx.requests) == 2
        run_dispatch(engine, ctx, at(30))  # 200
        assert len(rx.requests) == 3
        run_dispatch(engine, ctx, at(60))
        assert len(rx.requests) == 3  # delivered once, nothing more
    with Session(engine) as s:
        attempts = attempts_for_alert(s, alert_id)
    assert [(a.status_code, a.ok, a.permanent) for a in reversed(attempts)] == [
        (503, False, False),
        (500, False, False),
        (200, True, False),
    ]
    assert attempts[-1].error and "503" in attempts[-1].error
    assert {a.notification_status for a in attempts} == {"delivered"}


def test_a_hanging_receiver_times_out_and_is_retried(engine):
    with running(Receiver(script=["hang"], hang_s=1.0)) as rx:
        ctx = context(rx.url, receiver={"timeout": "300ms"}, route={"group_wait": "0s"})
        alert_id = fire(engine)
        run_dispatch(engine, ctx, at(0))
        run_dispatch(engine, ctx, at(10))
        assert len(rx.requests) == 2
    with Session(engine) as s:
        attempts = list(reversed(attempts_for_alert(s, alert_id)))
    assert attempts[0].status_code is None and not attempts[0].permanent
    assert attempts[0].error == "no answer within 0.3s"
    assert attempts[1].ok


def test_a_4xx_is_permanent_not_retried_and_shown_on_the_receiver(engine):
    from alerts.dispatch import receiver_states

    with running(Receiver(script=[404])) as rx:
        ctx = context(rx.url, route={"group_wait": "0s"})
        alert_id = fire(engine)
        run_dispatch(engine, ctx, at(0))
        run_dispatch(engine, ctx, at(3600))
        assert len(rx.requests) == 1
    with Session(engine) as s:
        (attempt,) = attempts_for_alert(s, alert_id)
        state = receiver_states(s, ["ops"])["ops"]
    assert attempt.permanent and attempt.status_code == 404
    assert attempt.notification_status == "failed"
    assert state.last_permanent and state.last_status_code == 404
    assert state.consecutive_failures == 1


def test_a_new_dispatcher_sends_nothing_twice_and_still_sends_the_resolve(engine):
    with running(Receiver()) as rx:
        url = rx.url
        alert_id = fire(engine)
        run_dispatch(engine, context(url, route={"group_wait": "0s"}), at(0))
        assert statuses(rx) == [["firing"]]
        # "Restart": new config objects, same database; nothing changed, nothing is sent.
        run_dispatch(engine, context(url, route={"group_wait": "0s"}), at(301))
        assert len(rx.requests) == 1
        resolve(engine, alert_id, at(400))
        restarted = context(url, route={"group_wait": "0s"})
        run_dispatch(engine, restarted, at(601))
        assert statuses(rx) == [["firing"], ["resolved"]]
        assert rx.requests[1].json()["status"] == "resolved"
        run_dispatch(engine, restarted, at(5000))
        assert len(rx.requests) == 2
    with Session(engine) as s:
        assert s.exec(select(NotifyMember)).all() == []


def test_a_notification_queued_before_a_crash_is_delivered_once_after_it(engine):
    with running(Receiver(script=[500])) as rx:
        fire(engine)
        run_dispatch(engine, context(rx.url, route={"group_wait": "0s"}), at(0))  # 500
        # The next process finds the queued retry in the database and delivers it once.
        for second in (10, 11, 40):
            run_dispatch(engine, context(rx.url, route={"group_wait": "0s"}), at(second))
        assert len(rx.requests) == 2
    with Session(engine) as s:
        (notification,) = s.exec(select(Notification)).all()
    assert notification.status == "delivered" and notification.attempts == 2


def test_a_silence_holds_new_alerts_but_never_swallows_a_resolve(engine):
    with running(Receiver()) as rx:
        ctx = context(rx.url, route={"group_wait": "0s", "group_interval": "1m"})
        notified = fire(engine, "DiskFull")
        run_dispatch(engine, ctx, at(0))
        assert statuses(rx) == [["firing"]]
        with Session(engine) as s:
            create_silence(
                s,
                matchers=[{"name": "service", "value": "api"}],
                starts_at=at(1),
                ends_at=at(7200),
                created_by="alice",
                comment="deploy",
                now=at(1),
            )
            s.commit()
        held = fire(engine, "CPUHigh", now=at(5))
        run_dispatch(engine, ctx, at(60))
        assert len(rx.requests) == 1  # the new alert is silenced
        with Session(engine) as s:
            assert s.get(Alert, held).suppressed_by.startswith("silence:")
        resolve(engine, notified, at(90))
        run_dispatch(engine, ctx, at(120))
        assert statuses(rx) == [["firing"], ["resolved"]]


def test_a_maintenance_window_holds_new_alerts_but_not_resolves(engine):
    window = {"service": "api", "start": "2026-11-26T12:00:30Z", "end": "2026-11-26T14:00:00Z"}
    with running(Receiver()) as rx:
        ctx = context(rx.url, route={"group_wait": "0s", "group_interval": "1m"}, windows=[window])
        notified = fire(engine, "DiskFull")
        run_dispatch(engine, ctx, at(0))
        held = fire(engine, "CPUHigh", now=at(40))
        run_dispatch(engine, ctx, at(60))
        assert statuses(rx) == [["firing"]]
        with Session(engine) as s:
            assert s.get(Alert, held).suppressed_by == "maintenance:api"
        resolve(engine, notified, at(70))
        run_dispatch(engine, ctx, at(120))
        assert statuses(rx) == [["firing"], ["resolved"]]


def test_children_of_a_down_parent_are_held_as_suppressed_by_it(engine):
    with running(Receiver()) as rx:
        ctx = context(
            rx.url,
            route={
                "group_wait": "0s",
                "group_interval": "1m",
                "group_by": ["alertname", "service"],
            },
            parents={"api": ("db",)},
        )
        fire(engine, "TargetDown", service="db")
        child = fire(engine, "HighErrorRate", service="api")
        run_dispatch(engine, ctx, at(0))
        assert [r.json()["groupLabels"] for r in rx.requests] == [
            {"alertname": "TargetDown", "service": "db"}
        ]
        with Session(engine) as s:
            assert s.get(Alert, child).suppressed_by == "parent:db"
        # The child is still evaluated: it resolves while held; nothing was notified, nothing sent.
        resolve(engine, child, at(30))
        run_dispatch(engine, ctx, at(60))
        assert len(rx.requests) == 1


def test_acknowledged_alerts_stop_repeating(engine):
    with running(Receiver()) as rx:
        ctx = context(
            rx.url, route={"group_wait": "0s", "group_interval": "1m", "repeat_interval": "1h"}
        )
        alert_id = fire(engine)
        run_dispatch(engine, ctx, at(0))
        run_dispatch(engine, ctx, at(3600))
        assert len(rx.requests) == 2  # repeated after repeat_interval
        with Session(engine) as s:
            acknowledge(s, alert_id, "bob", at(3700))
            s.commit()
        run_dispatch(engine, ctx, at(7300))
        assert len(rx.requests) == 2
        resolve(engine, alert_id, at(7400))
        run_dispatch(engine, ctx, at(7500))
        assert statuses(rx)[-1] == ["resolved"]


@pytest.mark.parametrize("max_alerts", [1])
def test_max_alerts_truncates_and_says_how_many(engine, max_alerts):
    with running(Receiver()) as rx:
        ctx = context(rx.url, receiver={"max_alerts": max_alerts}, route={"group_wait": "0s"})
        fire(engine, instance="a")
        fire(engine, instance="b")
        fire(engine, instance="c")
        run_dispatch(engine, ctx, at(0))
        body = rx.requests[0].json()
    assert len(body["alerts"]) == 1 and body["truncatedAlerts"] == 2
    assert json.dumps(body)  # plain JSON


def test_an_alertmanager_receiver_gets_active_alerts_every_minute_and_resolves_for_15(engine):
    with running(Receiver()) as rx:
        raw = RawConfig(
            {
                "receivers": [{"name": "am", "alertmanager": {"url": rx.url}}],
                "route": {"receiver": "am", "group_by": ["alertname"]},
            }
        )
        ctx = DispatchContext(parse_notify_config(raw), external_url=EXTERNAL)
        alert_id = fire(engine)
        run_dispatch(engine, ctx, at(0))  # no group_wait: Prometheus sends at once
        run_dispatch(engine, ctx, at(30))
        run_dispatch(engine, ctx, at(60))  # re-sent, or Alertmanager would expire it
        assert len(rx.requests) == 2
        assert rx.requests[0].path == "/api/v2/alerts"
        assert rx.requests[1].json()[0]["endsAt"] == "2026-11-26T12:05:00Z"
        resolve(engine, alert_id, at(100))
        for second in range(120, 60 * 20, 60):
            run_dispatch(engine, ctx, at(second))
        ends = [r.json()[0]["endsAt"] for r in rx.requests[2:]]
    # The resolve goes out, then again every minute until 15 minutes after it.
    assert set(ends) == {"2026-11-26T12:01:40Z"}
    assert len(ends) == 15


def test_concurrent_dispatchers_never_send_the_same_notification_twice(engine):
    from concurrent.futures import ThreadPoolExecutor

    with running(Receiver()) as rx:
        ctx = context(rx.url, route={"group_wait": "0s"})
        for name in ("A", "B", "C"):
            fire(engine, name)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: run_dispatch(engine, ctx, at(0)), range(4)))
        names = sorted(r.json()["groupLabels"]["alertname"] for r in rx.requests)
    assert names == ["A", "B", "C"]
    with Session(engine) as s:
        assert [n.attempts for n in s.exec(select(Notification)).all()] == [1, 1, 1]
