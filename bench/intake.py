"""Benchmark of alert intake: Alertmanager webhooks posted to opsloop's production server.

Run: `python bench/intake.py` (defaults: `opsloop serve` — waitress — on a free port with a
temporary SQLite var dir; 8 client threads; 6,000 requests or 40 s, whichever ends first).
`--server web` runs `opsloop web` (gunicorn) instead; `--postgres URL` runs it on a
temporary database created on that PostgreSQL server (and dropped afterwards).

Every payload carries 5 alerts distinct from every other payload's; every tenth request
re-sends an earlier payload, as Alertmanager does after a timeout, which must add no rows.
It prints requests/s, p50/p99 latency, the server's CPU time per request, and stored
alerts against alerts sent (lost and duplicated must be zero), with the ratio against the
goal of the issue: >= 1,000 requests/s and p99 < 100 ms. Clients and server share this
machine's cores, so the client threads' own CPU use lowers the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alerts.fingerprint import fingerprint  # noqa: E402

GOAL_RPS = 1000.0
GOAL_P99_MS = 100.0
ALERTS_PER_PAYLOAD = 5
RESEND_EVERY = 10


def payload(run: str, client: int, seq: int) -> dict[str, Any]:
    """An Alertmanager v0.27 webhook message with 5 alerts unique to (run, client, seq)."""
    alerts = []
    for i in range(ALERTS_PER_PAYLOAD):
        labels = {
            "alertname": "HighErrorRate",
            "instance": f"node-{client}-{seq}-{i}:9100",
            "job": f"svc-{i}",
            "severity": "page",
            "run": run,
        }
        alerts.append(
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": f"5xx ratio above 5% on node-{client}-{seq}-{i}"},
                "startsAt": "2026-01-05T11:58:03.184716309Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
                "fingerprint": fingerprint(labels),
            }
        )
    return {
        "receiver": "opsloop\\.bench",
        "status": "firing",
        "alerts": alerts,
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate", "severity": "page"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": f'{{}}:{{alertname="HighErrorRate",client="{client}-{seq}"}}',
        "truncatedAlerts": 0,
    }


class Load:
    """Shared counters of the client threads."""

    def __init__(self, total: int, deadline: float) -> None:
        self.lock = threading.Lock()
        self.remaining = total
        self.deadline = deadline
        self.latencies_s: list[float] = []
        self.errors: list[str] = []
        self.sent_fingerprints: set[str] = set()
        self.requests = 0
        self.resends = 0
        self.server_cpu_s = float("nan")

    def take(self) -> bool:
        with self.lock:
            if self.remaining <= 0 or time.perf_counter() > self.deadline:
                return False
            self.remaining -= 1
            return True


def client_loop(url: str, token: str, run: str, client: int, load: Load) -> None:
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    sent: list[bytes] = []
    seq = 0
    while load.take():
        resend = bool(sent) and (seq + client) % RESEND_EVERY == 0
        if resend:
            body = sent[len(sent) // 2]
        else:
            message = payload(run, client, seq)
            body = json.dumps(message).encode()
            sent.append(body)
        seq += 1
        started = time.perf_counter()
        try:
            response = session.post(url, data=body, timeout=30)
            ok = response.status_code == 200
            problem = f"{response.status_code} {response.text[:120]}"
        except requests.RequestException as exc:
            ok, problem = False, str(exc)
        elapsed = time.perf_counter() - started
        with load.lock:
            load.requests += 1
            load.latencies_s.append(elapsed)
            load.resends += resend
            if ok and not resend:
                load.sent_fingerprints.update(a["fingerprint"] for a in message["alerts"])
            if not ok:
                load.errors.append(problem)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def opsloop(*args: str, env: dict[str, str], **kwargs: Any) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "opsloop", *args], env=env, cwd=ROOT, check=True, **kwargs
    )


def start_server(kind: str, env: dict[str, str], port: int, workers: int) -> subprocess.Popen:
    args = ["serve", "--port", str(port)]
    if kind == "web":
        opsloop("db", "upgrade", env=env, capture_output=True)
        args = ["web", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsloop", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"opsloop {kind} exited with {proc.returncode}")
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit("opsloop did not become ready within 30 s")


def stored(database_url: str, run: str) -> tuple[int, set[str]]:
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT fingerprint FROM alert WHERE source = 'alertmanager' AND labels LIKE :r"),
            {"r": f'%"run":"{run}"%'},
        ).all()
    engine.dispose()
    return len(rows), {r[0] for r in rows}


def server_cpu_s(pid: int) -> float:
    """CPU seconds used by the server process and its children so far (Linux /proc)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [pid] + [int(p) for p in _children(pid)]
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


def _admin(server: str) -> Any:
    url = server.replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(url, isolation_level="AUTOCOMMIT")


def temporary_postgres(server: str, name: str) -> str:
    """Create database `name` on the server; return its URL."""
    admin = _admin(server)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url: str = admin.url.set(database=name).render_as_string(hide_password=False)
    admin.dispose()
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def drop_postgres(server: str, name: str) -> None:
    admin = _admin(server)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["serve", "web"], default="serve")
    parser.add_argument(
        "--postgres", default="", help="PostgreSQL server URL, e.g. postgresql://127.0.0.1/test"
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--threads", type=int, default=8, help="server threads (per worker)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (--server web)")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="opsloop-bench-"))
    database_url = f"sqlite:///{var_dir / 'opsloop.db'}"
    if args.postgres:
        database_url = temporary_postgres(args.postgres, f"opsloop_bench_{os.getpid()}")
    port = free_port()
    env = _environment(database_url, var_dir, port, args.threads)
    created = opsloop(
        "token", "add", f"bench-{port}", "--scope", "write", env=env, capture_output=True, text=True
    )
    token = created.stdout.strip().splitlines()[-1]
    proc = start_server(args.server, env, port, args.workers)
    run = secrets.token_hex(4)
    url = f"http://127.0.0.1:{port}/api/v1/alerts/alertmanager"
    try:
        # Warm-up (not timed): connections, caches, first writes.
        warm = Load(args.clients * 5, time.perf_counter() + 10)
        _run_clients(url, token, f"{run}w", args.clients, warm)
        load = Load(args.requests, time.perf_counter() + args.seconds)
        cpu_before = server_cpu_s(proc.pid)
        started = time.perf_counter()
        _run_clients(url, token, run, args.clients, load)
        elapsed = time.perf_counter() - started
        load.server_cpu_s = server_cpu_s(proc.pid) - cpu_before
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    rows, fingerprints = stored(database_url, run)
    if args.postgres:
        drop_postgres(args.postgres, f"opsloop_bench_{os.getpid()}")
    _report(args, database_url, load, elapsed, rows, fingerprints)


def _environment(database_url: str, var_dir: Path, port: int, threads: int) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "OPSLOOP_VAR_DIR": str(var_dir),
        "OPSLOOP_SECRET_KEY": secrets.token_urlsafe(32),
        "OPSLOOP_LOG_LEVEL": "WARNING",
        "OPSLOOP_PORT": str(port),
        "OPSLOOP_THREADS": str(threads),
    }
    env.pop("OPSLOOP_CONFIG", None)
    return env


def _run_clients(url: str, token: str, run: str, clients: int, load: Load) -> None:
    threads = [
        threading.Thread(target=client_loop, args=(url, token, run, c, load))
        for c in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _report(
    args: argparse.Namespace,
    database_url: str,
    load: Load,
    elapsed: float,
    rows: int,
    fingerprints: set[str],
) -> None:
    rps = load.requests / elapsed
    p50_ms = percentile(load.latencies_s, 0.50) * 1000
    p99_ms = percentile(load.latencies_s, 0.99) * 1000
    sent = len(load.sent_fingerprints)
    lost = len(load.sent_fingerprints - fingerprints)
    duplicated = rows - len(fingerprints)
    backend = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    print(f"server: opsloop {args.server} ({backend}), {args.threads} threads", end="")
    print(f" x {args.workers} workers" if args.server == "web" else "", end="")
    print(f"; {args.clients} client threads on the same {os.cpu_count()}-core machine")
    print(
        f"requests: {load.requests} in {elapsed:.1f} s ({load.resends} re-sends),"
        f" errors: {len(load.errors)}"
    )
    for problem in load.errors[:3]:
        print(f"  e.g. {problem}")
    print(f"throughput: {rps:,.0f} requests/s  (goal {GOAL_RPS:,.0f}; ratio {rps / GOAL_RPS:.2f})")
    print(
        f"latency: p50 {p50_ms:.1f} ms, p99 {p99_ms:.1f} ms"
        f"  (goal p99 < {GOAL_P99_MS:.0f} ms; ratio {p99_ms / GOAL_P99_MS:.2f})"
    )
    cpu_ms = load.server_cpu_s / max(load.requests, 1) * 1000
    print(f"server CPU: {cpu_ms:.1f} ms per request ({load.server_cpu_s:.1f} s in total)")
    print(f"alerts: sent {sent} distinct, stored {rows}; lost {lost}, duplicated {duplicated}")
    if lost or duplicated or load.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
