"""Each receiver kind's request, against real local servers (and a real Alertmanager)."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from alerts.receivers import ReceiverConfig, ReceiverKind
from alerts.senders import USER_AGENT, go_time, sender_for, sign, slack_text
from tests.alerts.receiver_server import Receiver, running

NOW = datetime(2026, 11, 26, 12, 0, 5, 250000, tzinfo=UTC)


def payload(status: str = "firing") -> dict:
    alert = {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "service": "api", "severity": "page"},
        "annotations": {"summary": "5% errors on api", "description": "over 5m"},
        "startsAt": "2026-11-26T11:50:00Z",
        "endsAt": "2026-11-26T12:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://opsloop.example/alerts/1",
        "fingerprint": "0123456789abcdef",
    }
    return {
        "receiver": "x",
        "status": status,
        "alerts": [alert],
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://opsloop.example",
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
    }


def test_go_time_is_rfc3339_as_go_marshals_it():
    assert go_time(NOW) == "2026-11-26T12:00:05.25Z"
    assert go_time(NOW.replace(microsecond=0)) == "2026-11-26T12:00:05Z"
    assert go_time(None) == "0001-01-01T00:00:00Z"


def test_webhook_basic_auth_and_signature_that_a_consumer_can_verify():
    with running(Receiver()) as rx:
        config = ReceiverConfig(
            "hook", ReceiverKind.WEBHOOK, rx.url, basic_auth=("am", "pw"), hmac_secret="k3y"
        )
        result = sender_for(config).send(payload(), NOW)
        (request,) = rx.requests
    assert result.ok and result.status_code == 200
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"am:pw").decode()
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["X-Opsloop-Timestamp"] == str(int(NOW.timestamp()))
    # What a consumer does: recompute over "<timestamp>.<raw body>" with the shared secret.
    stamp = request.headers["X-Opsloop-Timestamp"]
    assert request.headers["X-Opsloop-Signature"] == sign("k3y", stamp, request.body)
    assert sign("other", stamp, request.body) != request.headers["X-Opsloop-Signature"]
    assert request.json() == payload()


def test_a_refused_connection_is_a_retryable_network_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = ReceiverConfig("gone", ReceiverKind.WEBHOOK, f"http://127.0.0.1:{port}/")
    result = sender_for(config).send(payload(), NOW)
    assert not result.ok and not result.permanent and result.status_code is None
    assert result.error == "network error: Connection refused"


@pytest.mark.parametrize(
    ("status", "permanent"), [(400, True), (401, True), (429, False), (502, False)]
)
def test_status_codes_are_classified(status, permanent):
    with running(Receiver(script=[status])) as rx:
        result = sender_for(ReceiverConfig("x", ReceiverKind.WEBHOOK, rx.url)).send(payload(), NOW)
    assert not result.ok and result.status_code == status and result.permanent is permanent
    assert result.error.startswith(f"HTTP {status}")


def test_slack_gets_an_incoming_webhook_message():
    with running(Receiver()) as rx:
        sender_for(ReceiverConfig("chat", ReceiverKind.SLACK, rx.url)).send(payload(), NOW)
        body = rx.requests[0].json()
    assert set(body) == {"text"}
    assert body["text"].splitlines()[:2] == [
        "*[FIRING:1]* alertname=HighErrorRate",
        ":red_circle: 5% errors on api",
    ]
    assert slack_text(payload("resolved")).startswith("*[RESOLVED:1]*")


def test_alertmanager_gets_api_v2_alerts_as_prometheus_posts_them():
    with running(Receiver()) as rx:
        config = ReceiverConfig("am", ReceiverKind.ALERTMANAGER, rx.url)
        sender_for(config).send(payload(), NOW)
        sender_for(config).send(payload("resolved"), NOW)
        firing, resolved = (r.json() for r in rx.requests)
        assert rx.requests[0].path == "/api/v2/alerts"
    assert firing == [
        {
            "labels": {"alertname": "HighErrorRate", "service": "api", "severity": "page"},
            "annotations": {"summary": "5% errors on api", "description": "over 5m"},
            "startsAt": "2026-11-26T11:50:00Z",
            "endsAt": go_time(NOW + timedelta(minutes=4)),
            "generatorURL": "http://opsloop.example/alerts/1",
        }
    ]
    assert resolved[0]["endsAt"] == "2026-11-26T12:00:00Z"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def alertmanager(tmp_path: Path):
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.skip("Alertmanager is not installed (Debian package prometheus-alertmanager)")
    config = tmp_path / "am.yml"
    config.write_text("route:\n  receiver: none\nreceivers:\n  - name: none\n")
    port = _free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)  # waiting for a real process to start listening
        else:
            pytest.fail("Alertmanager did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_real_alertmanager_accepts_and_stores_the_alerts(alertmanager):
    now = datetime.now(UTC)  # Alertmanager compares endsAt with its own clock
    body = payload()
    body["alerts"][0]["startsAt"] = go_time(now - timedelta(minutes=5))
    config = ReceiverConfig("am", ReceiverKind.ALERTMANAGER, alertmanager)
    result = sender_for(config).send(body, now)
    assert result.ok, result.error
    stored = requests.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
    assert [a["labels"]["alertname"] for a in stored] == ["HighErrorRate"]
    assert stored[0]["annotations"]["summary"] == "5% errors on api"
    assert stored[0]["status"]["state"] == "active"
    assert json.dumps(stored)
