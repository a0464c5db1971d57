import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.config import RawConfig
from core.db import create_db_engine
from core.metrics import OpsMetrics
from core.runtime import Runtime
from web.app import create_app


def test_healthz_is_always_ok(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_is_ready_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ready"


def test_readyz_names_pending_migrations(settings, tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'blank.db'}")
    app = create_app(
        Runtime(settings=settings, engine=engine, config=RawConfig(), metrics=OpsMetrics())
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "migrations pending" in response.get_json()["reason"]
    assert "opsloop db upgrade" in response.get_json()["reason"]
    engine.dispose()


def test_readyz_says_when_the_database_is_unreachable(settings):
    engine = create_db_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app(
        Runtime(settings=settings, engine=engine, config=RawConfig(), metrics=OpsMetrics())
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["reason"].startswith("database unreachable")


def test_metrics_count_requests_by_endpoint_and_status(client):
    client.get("/healthz")
    client.get("/no/such/page")
    text = client.get("/metrics").get_data(as_text=True)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {
        (s.labels["endpoint"], s.labels["status"]): s.value
        for s in families["opsloop_http_requests"].samples
        if s.name.endswith("_total")
    }
    assert samples[("health.healthz", "200")] == 1
    assert samples[("unmatched", "404")] == 1
    assert "opsloop_http_request_duration_seconds" in families


def test_metrics_pass_promtool_check_metrics(client):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is absent: `make test` installs Debian's prometheus package")
    client.get("/healthz")
    body = client.get("/metrics").get_data()
    result = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_unknown_pages_get_a_friendly_404(auth_client):
    response = auth_client.get("/no/such/page")
    assert response.status_code == 404
    assert "Back to the overview" in response.get_data(as_text=True)


def test_unknown_api_paths_get_json(auth_client):
    response = auth_client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_plotly_is_served_locally_without_a_cdn(client):
    with client.get("/static/vendor/plotly.min.js") as response:
        assert response.status_code == 200
        assert len(response.get_data()) > 1_000_000
