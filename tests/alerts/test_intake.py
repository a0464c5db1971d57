"""Webhook intake over HTTP: auth, validation, idempotency, resolve, Grafana."""

import copy
import json
import threading

import pytest
from sqlmodel import Session, select

from alerts.fingerprint import fingerprint
from alerts.models import Alert, AlertEvent
from core.models import Scope
from tests.alerts.payloads import GRAFANA_MESSAGE, alertmanager_message, resolved_copy

AM_URL = "/api/v1/alerts/alertmanager"


@pytest.fixture
def token(make_token):
    return make_token("alertmanager", (Scope.READ, Scope.WRITE))


def post(client, token, body, url=AM_URL):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(
        url,
        data=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


def stored(engine):
    with Session(engine) as s:
        return list(s.exec(select(Alert).order_by(Alert.id)).all())


def test_replaying_a_notification_stores_each_alert_once(client, engine, token):
    message = alertmanager_message(alerts=3)
    first = post(client, token, message)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["created"] == 3
    again = post(client, token, message)
    assert again.get_json() == {
        "status": "success",
        "received": 3,
        "created": 0,
        "resolved": 0,
        "unchanged": 3,
    }
    rows = stored(engine)
    assert len(rows) == 3
    assert {r.source for r in rows} == {"alertmanager"}
    assert {r.service for r in rows} == {"checkout"}
    assert {r.receiver for r in rows} == {"opsloop.intake"}
    assert all(r.ends_at is None and r.state == "firing" for r in rows)


def test_concurrent_replays_store_each_alert_once(app, engine, token):
    message = json.dumps(alertmanager_message(alerts=5))
    statuses = []

    def send():
        with app.test_client() as c:
            statuses.append(post(c, token, message).status_code)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 6
    assert len(stored(engine)) == 5


def test_overlapping_payloads_in_any_order_neither_deadlock_nor_duplicate(app, engine, token):
    forward = alertmanager_message(alerts=6, prefix="x")
    backward = copy.deepcopy(forward)
    backward["alerts"].reverse()
    bodies = [json.dumps(forward), json.dumps(backward)] * 4
    statuses = []
    with app.test_client() as c:  # the token's last-used write first (see above)
        assert c.get("/api/v1/alerts", headers={"Authorization": f"Bearer {token}"}).status_code
    # On PostgreSQL, rows are written in identity order whatever the payload order, so two
    # transactions never wait on each other's row locks in opposite orders.

    def send(body):
        with app.test_client() as c:
            statuses.append(post(c, token, body).status_code)

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * len(bodies)
    assert len(stored(engine)) == 6


def test_without_fingerprint_it_is_computed_as_alertmanager_does(client, engine, token):
    post(client, token, alertmanager_message(alerts=1, with_fingerprint=False))
    post(client, token, alertmanager_message(alerts=1, with_fingerprint=True))
    [row] = stored(engine)
    assert row.fingerprint == fingerprint(row.label_map)


def test_a_resolved_notification_closes_the_stored_alert_once(client, engine, token):
    message = alertmanager_message(alerts=2)
    post(client, token, message)
    closing = resolved_copy(message)
    assert post(client, token, closing).get_json()["resolved"] == 2
    assert post(client, token, closing).get_json()["resolved"] == 0
    assert post(client, token, message).get_json()["created"] == 0  # a late retry of firing
    rows = stored(engine)
    assert [r.state for r in rows] == ["resolved", "resolved"]
    assert all(r.ends_at is not None and r.resolved_at == r.ends_at for r in rows)
    with Session(engine) as s:
        query = select(AlertEvent).where(AlertEvent.alert_id == rows[0].id)
        events = s.exec(query.order_by(AlertEvent.at)).all()
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, "firing"),
        ("firing", "resolved"),
    ]


def test_newer_and_unknown_fields_are_ignored(client, engine, token):
    message = alertmanager_message(alerts=1)
    message["notification_reason"] = "repeat"
    message["routeLabels"] = {"team": "shop"}
    message["alerts"][0]["someFutureField"] = {"x": 1}
    del message["truncatedAlerts"]
    assert post(client, token, message).status_code == 200
    assert len(stored(engine)) == 1


def test_a_new_start_time_is_a_new_occurrence(client, engine, token):
    post(client, token, alertmanager_message(alerts=1))
    post(client, token, alertmanager_message(alerts=1, starts_at="2026-01-05T13:00:00Z"))
    assert len(stored(engine)) == 2


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m: m["alerts"][1].pop("startsAt"), "alerts[1].startsAt: missing field"),
        (lambda m: m["alerts"][0].pop("labels"), "alerts[0].labels: missing field"),
        (lambda m: m.pop("alerts"), "alerts: missing field"),
        (lambda m: m.update(version="3"), "version: input should be '4'"),
        (lambda m: m["alerts"][0].update(status="ok"), "alerts[0].status"),
        (lambda m: m["alerts"][0]["labels"].update(port=80), "alerts[0].labels.port"),
        (lambda m: m["alerts"][1].update(startsAt="soon"), "alerts[1].startsAt"),
        (lambda m: m["alerts"][0].update(fingerprint="XYZ"), "alerts[0].fingerprint"),
    ],
)
def test_a_missing_or_ill_typed_field_is_a_400_naming_it(client, engine, token, mutate, message):
    body = alertmanager_message(alerts=2)
    mutate(body)
    response = post(client, token, body)
    assert response.status_code == 400
    assert response.get_json()["message"].startswith(message)
    assert stored(engine) == []


def test_malformed_json_is_a_400(client, token):
    response = post(client, token, b'{"version": "4", "alerts": [')
    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["message"]


def test_no_token_or_a_bad_one_is_a_401_and_a_read_token_a_403(client, make_token):
    body = alertmanager_message(alerts=1)
    assert client.post(AM_URL, json=body).status_code == 401
    assert post(client, "opl_not-a-token", body).status_code == 401
    reader = make_token("reader", (Scope.READ,))
    assert post(client, reader, body).status_code == 403


def test_a_body_above_one_mebibyte_is_a_413(client, engine, token):
    body = alertmanager_message(alerts=1)
    body["alerts"][0]["annotations"]["description"] = "x" * (1024 * 1024)
    response = post(client, token, body)
    assert response.status_code == 413
    assert "limit is 1048576" in response.get_json()["message"]
    assert stored(engine) == []


def test_grafana_alerts_are_stored_with_their_value_and_source(client, engine, token):
    url = "/api/v1/alerts/grafana"
    assert post(client, token, GRAFANA_MESSAGE, url).get_json()["created"] == 2
    assert post(client, token, GRAFANA_MESSAGE, url).get_json()["created"] == 0
    rows = stored(engine)
    by_name = {r.alertname: r for r in rows}
    memory = by_name["High memory usage"]
    assert memory.source == "grafana"
    assert memory.fingerprint == "c6eadffa33fcdf37"
    assert memory.value == pytest.approx(44.23943737541908)
    assert memory.starts_at.isoformat() == "2026-01-05T07:51:03.157076+00:00"
    cpu = by_name["High CPU usage"]
    assert cpu.value == pytest.approx(14151.331895396988)
    assert cpu.service == "billing"
    assert cpu.fingerprint == fingerprint(cpu.label_map)


def test_a_grafana_payload_without_alerts_is_refused(client, token):
    body = copy.deepcopy(GRAFANA_MESSAGE)
    del body["alerts"]
    response = post(client, token, body, "/api/v1/alerts/grafana")
    assert response.status_code == 400
    assert response.get_json()["message"] == "alerts: missing field"


def test_foreign_and_own_alerts_list_together_with_filters(client, engine, token):
    post(client, token, alertmanager_message(alerts=2))
    post(client, token, GRAFANA_MESSAGE, "/api/v1/alerts/grafana")
    headers = {"Authorization": f"Bearer {token}"}
    everything = client.get("/api/v1/alerts", headers=headers).get_json()["alerts"]
    assert len(everything) == 4
    grafana = client.get("/api/v1/alerts?source=grafana", headers=headers).get_json()
    assert {a["source"] for a in grafana["alerts"]} == {"grafana"}
    checkout = client.get("/api/v1/alerts?service=checkout&state=firing", headers=headers)
    assert len(checkout.get_json()["alerts"]) == 2
    bad = client.get("/api/v1/alerts?state=burning", headers=headers)
    assert bad.status_code == 400
    assert "state: 'burning' is not one of pending, firing, resolved" in bad.get_json()["message"]


def test_one_alert_over_the_api_carries_its_history(client, engine, token):
    message = alertmanager_message(alerts=1)
    post(client, token, message)
    post(client, token, resolved_copy(message))
    [row] = stored(engine)
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get(f"/api/v1/alerts/{row.id}", headers=headers).get_json()
    assert body["alert"]["state"] == "resolved"
    assert body["alert"]["labels"]["instance"] == "node-0:9100"
    assert body["alert"]["endsAt"] == "2026-01-05T12:10:03.184716Z"
    assert [(e["from"], e["to"]) for e in body["events"]] == [
        (None, "firing"),
        ("firing", "resolved"),
    ]
    missing = client.get("/api/v1/alerts/4242", headers=headers)
    assert missing.status_code == 404
    assert missing.get_json()["message"] == "no alert with id 4242"


def test_a_nul_character_is_refused_by_name_on_every_database(client, engine, token):
    message = alertmanager_message(alerts=2)
    message["alerts"][1]["labels"]["job"] = "check\u0000out"  # PostgreSQL text cannot hold it
    response = post(client, token, message)
    assert response.status_code == 400
    assert response.get_json()["message"] == (
        "alerts[1].labels.job: contains a NUL character (\\u0000)"
    )
    assert stored(engine) == []
