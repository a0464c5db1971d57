"""The split for scale: `opsloop web` (gunicorn) and `opsloop worker` as real processes."""

import os
import signal
import subprocess
import sys
import time

import requests
from sqlalchemy import text

from core.db import create_db_engine, reading
from tests.conftest import TEST_SECRET
from tests.opsloop.test_serve import start_serve, stop


def test_web_serves_the_app_under_gunicorn_and_stops_on_sigterm(tmp_path, database_url):
    env = {"DATABASE_URL": database_url, "OPSLOOP_SECRET_KEY": TEST_SECRET}
    proc, base = start_serve(tmp_path, ["--workers", "1"], env, command="web")
    try:
        assert requests.get(f"{base}/readyz", timeout=5).json()["status"] == "ready"
        page = requests.get(f"{base}/services/", timeout=5, allow_redirects=False)
        assert page.status_code == 302
        assert page.headers["Location"].startswith("/login")
        assert "opsloop_http_requests_total" in requests.get(f"{base}/metrics", timeout=5).text
    finally:
        out = stop(proc)
    assert proc.returncode == 0, out
    assert "gunicorn" in out.lower()


def test_worker_runs_the_scheduled_jobs_and_stops_on_sigterm(tmp_path, database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSLOOP_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": database_url, "OPSLOOP_SECRET_KEY": TEST_SECRET})
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsloop", "worker"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    engine = create_db_engine(database_url)
    try:
        # The target sync job runs at start: the self-scrape target appearing in the
        # database shows the scheduler ran a job.
        deadline = time.monotonic() + 30
        found = 0
        while time.monotonic() < deadline and not found and proc.poll() is None:
            with reading(engine).connect() as conn:
                found = conn.execute(
                    text("SELECT count(*) FROM target WHERE job = 'opsloop'")
                ).scalar_one()
            time.sleep(0.3)
        assert found == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        engine.dispose()
    assert proc.returncode == 0, out
    assert "worker started with" in out
