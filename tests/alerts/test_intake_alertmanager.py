"""A real Alertmanager (Debian's prometheus-alertmanager) posts to opsloop's intake."""

import shutil
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime

import pytest
import requests
from sqlmodel import Session, select
from werkzeug.serving import make_server

from alerts.fingerprint import fingerprint
from alerts.models import Alert
from core.models import Scope

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = pytest.mark.skipif(BINARY is None, reason="prometheus-alertmanager is not installed")

CONFIG = """
route:
  receiver: opsloop.intake
  group_by: [alertname]
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: opsloop.intake
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(predicate, what, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def opsloop_url(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def alertmanager(opsloop_url, make_token, tmp_path):
    token = make_token("alertmanager", (Scope.WRITE,))
    config = tmp_path / "alertmanager.yml"
    url = f"{opsloop_url}/api/v1/alerts/alertmanager"
    config.write_text(CONFIG.format(url=url, token=token))
    port = _free_port()
    proc = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def ready():
        try:
            return requests.get(f"{base}/-/ready", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        _wait_for(ready, "Alertmanager to start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _stored(engine):
    with Session(engine) as s:
        return list(s.exec(select(Alert)).all())


def test_alertmanager_notifications_are_stored_once_and_resolved(alertmanager, engine):
    labels = {"alertname": "DiskFull", "instance": "db-1:9100", "job": "postgres"}
    started = datetime.now(UTC).isoformat()
    alert = {"labels": labels, "annotations": {"summary": "disk 97% full"}, "startsAt": started}
    assert requests.post(f"{alertmanager}/api/v2/alerts", json=[alert], timeout=5).ok
    [row] = _wait_for(lambda: _stored(engine), "the firing notification")
    assert row.source == "alertmanager" and row.state == "firing"
    assert row.receiver == "opsloop.intake"  # Alertmanager sends it regex-escaped
    assert row.service == "postgres"
    am_view = requests.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
    assert row.fingerprint == am_view[0]["fingerprint"] == fingerprint(labels)

    alert["endsAt"] = datetime.now(UTC).isoformat()
    assert requests.post(f"{alertmanager}/api/v2/alerts", json=[alert], timeout=5).ok

    def resolved():
        rows = _stored(engine)
        return rows if rows and rows[0].state == "resolved" else None

    rows = _wait_for(resolved, "the resolved notification")
    assert len(rows) == 1
    assert rows[0].ends_at is not None and rows[0].resolved_at == rows[0].ends_at
