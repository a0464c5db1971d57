"""Benchmark of alert intake: Alertmanager webhooks posted to opsloop's production server.

Run: `python bench/intake.py` (defaults: `opsloop web` — gunicorn with opsloop's default
workers and threads — on a free port with a temporary SQLite var dir; 8 keep-alive client
connections in 2 client processes; 20,000 requests or 30 s, whichever ends first).
`--server serve` runs the embedded `opsloop serve` (waitress, one process) instead;
`--postgres URL` runs on a temporary database created on that PostgreSQL server (and
dropped afterwards).

Every payload carries 5 alerts distinct from every other payload's; every tenth request
re-sends an earlier payload, as Alertmanager does after a timeout, which must add no rows.
It prints requests/s, p50/p99 latency, CPU per request of the server, of the database
server (PostgreSQL backends) and of the clients, and stored alerts against alerts sent
(lost and duplicated must be zero); the last line is `ratio_vs_goal=<requests/s ÷ 1000>`
(the issue's goal: >= 1,000 requests/s with p99 < 100 ms).

Clients and server share this machine's cores, so the clients are kept cheap: bodies are
encoded before the clock starts and sent with http.client over keep-alive connections,
from threads spread over a few processes (one process's GIL would queue them). The whole
run is bounded: a watchdog stops everything after WATCHDOG_S.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing as mp
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alerts.fingerprint import fingerprint  # noqa: E402
from core.settings import Settings  # noqa: E402

GOAL_RPS = 1000.0
GOAL_P99_MS = 100.0
ALERTS_PER_PAYLOAD = 5
RESEND_EVERY = 10
WATCHDOG_S = 115
MAX_SECONDS = 60.0
PATH = "/api/v1/alerts/alertmanager"
DEFAULTS = Settings()  # what `opsloop web` / `opsloop serve` use when nothing is set


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


def planned_bodies(run: str, client: int, count: int) -> list[tuple[bytes, list[str]]]:
    """The client's requests: (body, its fingerprints), or (earlier body, []) for a re-send."""
    planned: list[tuple[bytes, list[str]]] = []
    fresh: list[bytes] = []
    for seq in range(count):
        if fresh and (seq + client) % RESEND_EVERY == 0:
            planned.append((fresh[len(fresh) // 2], []))
            continue
        message = payload(run, client, seq)
        body = json.dumps(message).encode()
        fresh.append(body)
        planned.append((body, [a["fingerprint"] for a in message["alerts"]]))
    return planned


@dataclass
class Tally:
    """What the clients saw; one per client process, merged by the parent."""

    requests: int = 0
    resends: int = 0
    latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sent_fingerprints: set[str] = field(default_factory=set)
    cpu_s: float = 0.0
    ended_s: float = 0.0  # time.monotonic() of the last answer

    def merge(self, other: Tally) -> None:
        self.requests += other.requests
        self.resends += other.resends
        self.latencies_s += other.latencies_s
        self.errors += other.errors
        self.sent_fingerprints |= other.sent_fingerprints
        self.cpu_s += other.cpu_s
        self.ended_s = max(self.ended_s, other.ended_s)


class KeepAliveClient:
    """A minimal HTTP/1.1 client on one keep-alive connection, for pre-encoded requests.

    http.client parses response headers with the email package, which costs the machine
    more CPU per request than the server's parsing; this reads the status line and
    Content-Length only (opsloop always sends one) and nothing else.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one request; its status and body. A connection the server closed while
        idle is reopened once (Alertmanager's client does the same; intake is idempotent)."""
        try:
            return self._exchange(request, fresh=self.sock is None)
        except _StaleConnection:
            self.close()
            return self._exchange(request, fresh=True)

    def _exchange(self, request: bytes, fresh: bool) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock.sendall(request)
            head = self._read_until_head()
        except (ConnectionError, _StaleConnection):
            if fresh:
                raise
            raise _StaleConnection from None
        status = int(head[9:12])
        length = -1
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length < 0:
            self.close()
            raise http.client.HTTPException(f"{status} answer without Content-Length")
        while len(self.buffer) < length:
            self.buffer += self._recv()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        if b"connection: close" in head.lower():
            self.close()
        return status, body

    def _read_until_head(self) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        return head

    def _recv(self) -> bytes:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise _StaleConnection if not self.buffer else ConnectionError("closed mid-answer")
        return chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""


class _StaleConnection(Exception):
    """The server closed the connection before answering."""


def request_bytes(port: int, token: str, body: bytes) -> bytes:
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def client_thread(
    port: int, planned: list[tuple[bytes, list[str]]], deadline: float, tally: Tally
) -> None:
    client = KeepAliveClient(port)
    latencies, errors, sent, resends = [], [], [], 0
    for request, fingerprints in planned:
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        try:
            status, answer = client.exchange(request)
            ok = status == 200
            problem = f"{status} {answer[:120]!r}"
        except (OSError, http.client.HTTPException, _StaleConnection) as exc:
            ok, problem = False, f"{type(exc).__name__}: {exc}"
            client.close()  # the next request reconnects
        latencies.append(time.perf_counter() - started)
        resends += not fingerprints
        if ok:
            sent += fingerprints
        else:
            errors.append(problem)
    client.close()
    tally.latencies_s, tally.errors, tally.resends = latencies, errors, resends
    tally.sent_fingerprints.update(sent)
    tally.requests = len(latencies)


def client_process(
    port: int,
    token: str,
    run: str,
    clients: range,
    n: int,
    seconds: float,
    start: Any,
    results: Any,
) -> None:
    """Prepare every body, wait for the common start, post them from one thread per client."""
    plans = {
        c: [(request_bytes(port, token, body), fps) for body, fps in planned_bodies(run, c, n)]
        for c in clients
    }
    tallies = {c: Tally() for c in clients}
    start.wait()
    deadline = time.monotonic() + seconds
    cpu_before = time.process_time()
    threads = [
        threading.Thread(target=client_thread, args=(port, plans[c], deadline, tallies[c]))
        for c in clients
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tally = Tally()
    for one in tallies.values():
        tally.merge(one)
    tally.cpu_s = time.process_time() - cpu_before
    tally.ended_s = time.monotonic()
    results.put(tally)


def run_clients(
    port: int,
    token: str,
    run: str,
    clients: int,
    procs: int,
    total: int,
    seconds: float,
    snapshot: Callable[[], Any] = lambda: None,
) -> tuple[Tally, float, tuple[Any, Any]]:
    """Run the load: the merged tally, the seconds from the common start to the last answer,
    and snapshot() taken at the start and once every client is done."""
    ctx = mp.get_context("fork")
    procs = max(1, min(procs, clients))
    start = ctx.Barrier(procs + 1)
    results = ctx.Queue()
    per_client = -(-total // clients)
    workers = [
        ctx.Process(
            daemon=True,  # the watchdog's exit ends them too
            target=client_process,
            args=(port, token, run, range(p, clients, procs), per_client, seconds, start, results),
        )
        for p in range(procs)
    ]
    for w in workers:
        w.start()
    start.wait()
    started = time.monotonic()
    before = snapshot()
    tally = Tally()
    for _ in workers:
        tally.merge(results.get(timeout=seconds + 60))
    after = snapshot()
    for w in workers:
        w.join(timeout=10)
    return tally, tally.ended_s - started, (before, after)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def opsloop(*args: str, env: dict[str, str], **kwargs: Any) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "opsloop", *args], env=env, cwd=ROOT, check=True, **kwargs
    )


def start_server(
    kind: str, env: dict[str, str], port: int, workers: int
) -> subprocess.Popen[bytes]:
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
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"opsloop {kind} exited with {proc.returncode}")
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit("opsloop did not become ready within 30 s")


def stored(database_url: str, run: str) -> tuple[int, set[str]]:
    engine = _engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT fingerprint FROM alert WHERE source = 'alertmanager' AND labels LIKE :r"),
            {"r": f'%"run":"{run}"%'},
        ).all()
    engine.dispose()
    return len(rows), {r[0] for r in rows}


def _engine(url: str, **kwargs: Any) -> Any:
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), **kwargs)


def cpu_s(pids: list[int]) -> float:
    """CPU seconds used so far by these processes (Linux /proc; gone ones count 0)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def process_tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        one = todo.pop()
        found.append(one)
        with contextlib.suppress(OSError):
            todo += [int(c) for c in Path(f"/proc/{one}/task/{one}/children").read_text().split()]
    return found


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat), to show the machine's load."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6]  # user nice system irq softirq
    return busy / os.sysconf("SC_CLK_TCK")


def postgres_backends(database_url: str, name: str) -> list[int]:
    """Process ids of the PostgreSQL backends serving the opsloop server's connections."""
    engine = _engine(database_url)
    with engine.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
            {"n": name},
        ).all()
    engine.dispose()
    return [int(p[0]) for p in pids]


def temporary_postgres(server: str, name: str) -> str:
    """Create database `name` on the server; return its URL."""
    admin = _engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url: str = admin.url.set(database=name).render_as_string(hide_password=False)
    admin.dispose()
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def drop_postgres(server: str, name: str) -> None:
    admin = _engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class Measured:
    tally: Tally
    elapsed_s: float
    server_cpu_s: float
    database_cpu_s: float | None
    machine_busy_s: float
    rows: int
    fingerprints: set[str]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["serve", "web"], default="web")
    parser.add_argument(
        "--postgres", default="", help="PostgreSQL server URL, e.g. postgresql://127.0.0.1/test"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--client-procs", type=int, default=2, help="processes the clients use")
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=30.0, help=f"at most {MAX_SECONDS:.0f}")
    parser.add_argument(
        "--threads", type=int, default=DEFAULTS.threads, help="server threads (per worker)"
    )
    parser.add_argument(
        "--workers", type=int, default=DEFAULTS.web_workers, help="gunicorn workers (web)"
    )
    args = parser.parse_args()
    args.seconds = min(args.seconds, MAX_SECONDS)
    signal.signal(signal.SIGALRM, _watchdog)
    signal.alarm(WATCHDOG_S)

    var_dir = Path(tempfile.mkdtemp(prefix="opsloop-bench-"))
    database_url = f"sqlite:///{var_dir / 'opsloop.db'}"
    pg_name = f"opsloop_bench_{os.getpid()}"
    if args.postgres:
        database_url = temporary_postgres(args.postgres, pg_name)
    try:
        measured = _measure(args, database_url, var_dir, pg_name)
    finally:
        if args.postgres:
            drop_postgres(args.postgres, pg_name)
    _report(args, database_url, measured)


def _watchdog(_signum: int, _frame: Any) -> None:
    raise SystemExit(f"bench/intake.py: stopped by its {WATCHDOG_S} s watchdog")


def _measure(args: argparse.Namespace, database_url: str, var_dir: Path, pg_name: str) -> Measured:
    port = free_port()
    env = _environment(database_url, var_dir, port, args.threads)
    created = opsloop(
        "token", "add", f"bench-{port}", "--scope", "write", env=env, capture_output=True, text=True
    )
    token = created.stdout.strip().splitlines()[-1]
    proc = start_server(args.server, env, port, args.workers)
    run = secrets.token_hex(4)
    try:
        # Warm-up (not timed): connections, pools, caches, first writes.
        clients = (args.clients, args.client_procs)
        run_clients(port, token, f"{run}w", *clients, total=args.clients * 20, seconds=10)
        server = process_tree(proc.pid)

        def database() -> dict[int, float]:
            # Listed at each snapshot: a backend opened during the run counts from its start.
            pids = postgres_backends(database_url, pg_name) if args.postgres else []
            return {pid: cpu_s([pid]) for pid in pids}

        tally, elapsed, (before, after) = run_clients(
            port,
            token,
            run,
            *clients,
            total=args.requests,
            seconds=args.seconds,
            snapshot=lambda: (cpu_s(server), database(), machine_busy_s()),
        )
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    rows, fingerprints = stored(database_url, run)
    return Measured(
        tally=tally,
        elapsed_s=elapsed,
        server_cpu_s=after[0] - before[0],
        database_cpu_s=sum(v - before[1].get(pid, 0.0) for pid, v in after[1].items())
        if args.postgres
        else None,
        machine_busy_s=after[2] - before[2],
        rows=rows,
        fingerprints=fingerprints,
    )


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


def _report(args: argparse.Namespace, database_url: str, m: Measured) -> None:
    tally = m.tally
    rps = tally.requests / m.elapsed_s
    p50_ms = percentile(tally.latencies_s, 0.50) * 1000
    p99_ms = percentile(tally.latencies_s, 0.99) * 1000
    sent = len(tally.sent_fingerprints)
    lost = len(tally.sent_fingerprints - m.fingerprints)
    duplicated = m.rows - len(m.fingerprints)
    backend = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    if args.server == "web":
        kind = f"opsloop web (gunicorn gthread, {args.workers} workers x {args.threads} threads)"
    else:
        kind = f"opsloop serve (waitress, 1 process, {args.threads} threads)"
    per_request_ms = 1000 / max(tally.requests, 1)
    print(f"server: {kind}")
    print(f"database: {backend}")
    print(
        f"clients: {args.clients} keep-alive connections in {args.client_procs} processes,"
        f" on the same {os.cpu_count()}-core machine"
    )
    print(
        f"requests: {tally.requests} in {m.elapsed_s:.1f} s ({tally.resends} re-sends),"
        f" errors: {len(tally.errors)}"
    )
    for problem in tally.errors[:3]:
        print(f"  e.g. {problem}")
    print(f"requests/s: {rps:,.0f}  (goal {GOAL_RPS:,.0f})")
    print(f"latency: p50 {p50_ms:.1f} ms, p99 {p99_ms:.1f} ms  (goal p99 < {GOAL_P99_MS:.0f} ms)")
    print(
        f"server CPU: {m.server_cpu_s * per_request_ms:.2f} ms per request"
        f" ({m.server_cpu_s:.1f} s in total)"
    )
    if m.database_cpu_s is not None:
        print(
            f"database CPU (PostgreSQL backends): {m.database_cpu_s * per_request_ms:.2f} ms"
            f" per request ({m.database_cpu_s:.1f} s)"
        )
    print(f"client CPU: {tally.cpu_s * per_request_ms:.2f} ms per request ({tally.cpu_s:.1f} s)")
    print(
        f"machine: {m.machine_busy_s / m.elapsed_s:.2f} of {os.cpu_count()} cores busy"
        " (everything on it, other users included)"
    )
    print(f"alerts: sent {sent} distinct, stored {m.rows}; lost {lost}, duplicated {duplicated}")
    print(f"ratio_vs_goal={rps / GOAL_RPS:.2f}")
    if lost or duplicated or tally.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
