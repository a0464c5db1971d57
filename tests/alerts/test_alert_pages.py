"""Alerts pages: list tabs and filters, detail timeline, ack and silence actions with CSRF."""

import json

import pytest
from sqlmodel import Session, select

from alerts.models import Alert, Silence
from core.models import Role, Scope
from tests.alerts.payloads import GRAFANA_MESSAGE, alertmanager_message, resolved_copy
from tests.conftest import csrf_token_from, login


@pytest.fixture
def seeded(client, make_token):
    token = make_token("am", (Scope.READ, Scope.WRITE))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    firing = alertmanager_message(alerts=2, prefix="web")
    client.post("/api/v1/alerts/alertmanager", data=json.dumps(firing), headers=headers)
    closed = alertmanager_message(alerts=1, prefix="db", starts_at="2026-01-04T08:00:00Z")
    client.post("/api/v1/alerts/alertmanager", data=json.dumps(closed), headers=headers)
    done = json.dumps(resolved_copy(closed))
    client.post("/api/v1/alerts/alertmanager", data=done, headers=headers)
    client.post("/api/v1/alerts/grafana", data=json.dumps(GRAFANA_MESSAGE), headers=headers)
    return token


def _ids(engine, **where):
    with Session(engine) as s:
        query = select(Alert)
        for name, value in where.items():
            query = query.where(getattr(Alert, name) == value)
        return [a.id for a in s.exec(query.order_by(Alert.id)).all()]


def test_the_list_shows_tabs_sources_and_filters(client, make_user, seeded):
    login(client, "vic", make_user("vic", Role.VIEWER))
    html = client.get("/alerts/").get_data(as_text=True)
    assert html.count('<span class="badge firing">firing</span>') == 4
    assert "grafana" in html and "alertmanager" in html
    assert "High memory usage" in html
    assert "Ack</button>" not in html  # a viewer gets no actions
    resolved = client.get("/alerts/?tab=resolved").get_data(as_text=True)
    assert resolved.count('<span class="badge resolved">resolved</span>') == 1
    only_grafana = client.get("/alerts/?tab=all&source=grafana").get_data(as_text=True)
    assert "High memory usage" in only_grafana and "HighErrorRate" not in only_grafana
    by_service = client.get("/alerts/?tab=firing&service=billing").get_data(as_text=True)
    assert "High CPU usage" in by_service and "HighErrorRate" not in by_service


def test_the_detail_page_shows_the_timeline_labels_and_annotations(
    client, engine, make_user, seeded
):
    login(client, "vic", make_user("vic", Role.VIEWER))
    [closed_id] = _ids(engine, state="resolved")
    html = client.get(f"/alerts/{closed_id}").get_data(as_text=True)
    assert '<span class="badge firing">firing</span> →' in html
    assert "db-0:9100" in html
    assert "5xx ratio above 5% on db-0" in html
    assert client.get("/alerts/99999").status_code == 404


def test_an_editor_acknowledges_with_a_csrf_token(client, engine, make_user, seeded):
    login(client, "ed", make_user("ed", Role.EDITOR))
    alert_id = _ids(engine, state="firing")[0]
    page = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    refused = client.post(f"/alerts/{alert_id}/ack")
    assert refused.status_code == 400
    done = client.post(f"/alerts/{alert_id}/ack", data={"csrf_token": csrf_token_from(page)})
    assert done.status_code == 302
    html = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "by ed" in html and "acknowledged by ed" in html


def test_a_viewer_cannot_acknowledge(client, engine, make_user, seeded):
    login(client, "vic", make_user("vic", Role.VIEWER))
    alert_id = _ids(engine, state="firing")[0]
    page = client.get("/alerts/silences").get_data(as_text=True)
    response = client.post(f"/alerts/{alert_id}/ack", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 403


def test_silence_like_this_prefills_then_creates_and_expires(client, engine, make_user, seeded):
    login(client, "ed", make_user("ed", Role.EDITOR))
    alert_id = _ids(engine, source="alertmanager", state="firing")[0]
    page = client.get(f"/alerts/silences?alert={alert_id}").get_data(as_text=True)
    assert 'alertname="HighErrorRate"' in page
    assert "instance=" not in page  # volatile labels are left out
    form = {
        "csrf_token": csrf_token_from(page),
        "matchers": 'alertname="HighErrorRate"\njob=~"check.*"',
        "duration": "2h",
        "comment": "deploying the fix",
    }
    assert client.post("/alerts/silences", data=form).status_code == 302
    listing = client.get("/alerts/silences").get_data(as_text=True)
    assert "job=~&#34;check.*&#34;" in listing and ">active<" in listing
    with Session(engine) as s:
        silence_id = s.exec(select(Silence.id)).one()
    expire = client.post(
        f"/alerts/silences/{silence_id}/expire", data={"csrf_token": csrf_token_from(listing)}
    )
    assert expire.status_code == 302
    assert ">expired<" in client.get("/alerts/silences").get_data(as_text=True)


def test_a_bad_silence_form_names_each_field(client, make_user):
    login(client, "ed", make_user("ed", Role.EDITOR))
    page = client.get("/alerts/silences").get_data(as_text=True)
    response = client.post(
        "/alerts/silences",
        data={
            "csrf_token": csrf_token_from(page),
            "matchers": "alertname HighErrorRate",
            "duration": "two hours",
            "comment": "",
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "matcher 1: &#39;alertname HighErrorRate&#39; is not name=&#34;value&#34;" in html
    assert "is not a duration" in html
    assert "say why these alerts are silenced" in html


def test_new_foreign_alerts_matching_a_silence_show_as_suppressed(client, make_user, make_token):
    login(client, "ed", make_user("ed", Role.EDITOR))
    page = client.get("/alerts/silences").get_data(as_text=True)
    client.post(
        "/alerts/silences",
        data={
            "csrf_token": csrf_token_from(page),
            "matchers": 'service="billing"',
            "duration": "1h",
            "comment": "billing migration",
        },
    )
    token = make_token("g", (Scope.WRITE,))
    client.post(
        "/api/v1/alerts/grafana",
        data=json.dumps(GRAFANA_MESSAGE),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    html = client.get("/alerts/?tab=suppressed").get_data(as_text=True)
    assert "High CPU usage" in html and "High memory usage" not in html
    firing = client.get("/alerts/?tab=firing").get_data(as_text=True)
    assert "High memory usage" in firing and "High CPU usage" not in firing


def test_the_detail_page_lists_notification_attempts(client, engine, make_user):
    from datetime import UTC, datetime

    from alerts.fingerprint import fingerprint
    from alerts.models import AlertState
    from alerts.notification_models import Notification, NotificationAlert, NotificationAttempt
    from alerts.store import upsert_own_alert

    at = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    labels = {"alertname": "TargetDown", "job": "api"}
    with Session(engine) as s:
        alert = upsert_own_alert(
            s,
            fingerprint=fingerprint(labels),
            labels=labels,
            annotations={},
            state=AlertState.FIRING,
            value=0.0,
            now=at,
            active_at=at,
        )
        note = Notification(
            receiver="oncall-webhook",
            status="failed",
            payload="{}",
            summary="TargetDown",
            is_test=False,
            attempts=2,
            next_attempt_at=at,
            created_at=at,
        )
        s.add(note)
        s.flush()
        s.add(NotificationAlert(notification_id=note.id, alert_id=alert.id, sent_state="firing"))
        for ok, code, error in ((False, 503, "503 Service Unavailable"), (True, 200, None)):
            s.add(
                NotificationAttempt(
                    notification_id=note.id,
                    receiver="oncall-webhook",
                    attempted_at=at,
                    status_code=code,
                    latency_ms=12.5,
                    ok=ok,
                    permanent=False,
                    error=error,
                )
            )
        s.commit()
        alert_id = alert.id
    login(client, "vic", make_user("vic", Role.VIEWER))
    html = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert html.count("<td>oncall-webhook</td>") == 2
    assert "503 Service Unavailable" in html and "failed, will retry" in html
    assert '<span class="badge ok">delivered</span>' in html
