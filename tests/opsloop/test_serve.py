"""`opsloop serve` as a new user starts it: a real process on a free port."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import csrf_token_from


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(tmp_path: Path, extra_args=(), env_extra=None, command="serve"):
    """Start `opsloop <command>` on a free port and wait until /healthz answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSLOOP_", "DATABASE_URL"))}
    env.update(env_extra or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsloop", command, "--port", str(port), *extra_args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except requests.ConnectionError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"{command} did not come up: {proc.stdout.read() if proc.stdout else ''}")


def stop(proc) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    return out


def test_serve_creates_admin_prints_it_once_and_stops_on_sigterm(tmp_path):
    proc, base = start_serve(tmp_path)
    try:
        assert requests.get(f"{base}/readyz", timeout=5).json()["status"] == "ready"
        http = requests.Session()
        page = http.get(f"{base}/login", timeout=5).text
        assert (tmp_path / "var" / "opsloop.db").exists()
    finally:
        out = stop(proc)
    assert proc.returncode == 0, out
    match = re.search(r"user:\s+admin\s+password:\s+(\S+)", out)
    assert match, out
    password = match.group(1)

    proc, base = start_serve(tmp_path)
    try:
        page = http.get(f"{base}/login", timeout=5).text
        response = http.post(
            f"{base}/login",
            data={"name": "admin", "password": password, "csrf_token": csrf_token_from(page)},
            timeout=5,
        )
        assert response.status_code == 200
        assert "Log out" in response.text
    finally:
        out = stop(proc)
    assert "password:" not in out, "the admin password must be printed only once"
