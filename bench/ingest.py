"""CPU cost of scraping, parsing and storing a sample, against Prometheus on the same targets.

    python bench/ingest.py [--targets 20] [--rounds 20] [--history 120] [--database-url URL]

N local targets (a child process, so serving costs nothing here) each expose a realistic
~1,000-sample text exposition over real HTTP. opsloop scrapes them all, round after round,
with its scrape pool into a fresh SQLite file, measuring this process's CPU time per stored
sample (the first round, which creates the series, is shown apart), and checks that the
database holds every sample the scrapes reported. Each round is one scheduler tick that
claims (in the database) and scrapes every target, as if all were due at once; the clock of
the rounds moves 15 s a round, so 20 rounds fill a 5-minute bucket, and after the rounds
the bucket's samples move into chunks, as the collector moves them (counted too).
The figure printed is the steady state on an aged table (each series already holding
--history older samples, as after half an hour of scraping), which costs more on SQLite than
a young one; both are shown. When Debian's `prometheus` is installed, it scrapes the same
targets every second for a while and its CPU per appended sample (from /proc and its own
prometheus_tsdb_head_samples_appended_total) gives the ratio. Bounded: about a minute.
--database-url measures another database (e.g. PostgreSQL; its tables are emptied first;
only this process's CPU is counted there, not the database server's).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INTERVAL_S = 15
PROMETHEUS_RUN_S = 24.0
PROMETHEUS_WARMUP_S = 6.0


def exposition(seed: int, tick: int) -> str:
    """About 1,000 samples shaped like a web service with node-level metrics."""
    out: list[str] = []
    add = out.append
    routes = [f"/api/v1/{name}" for name in ("cart", "items", "users", "orders", "search")]
    routes += ["/", "/login", "/checkout", "/health", "/static"]
    add("# HELP http_requests_total Requests by route, method and status code.")
    add("# TYPE http_requests_total counter")
    for r_i, route in enumerate(routes):
        for method in ("GET", "POST", "PUT", "DELETE"):
            for code in ("200", "201", "404", "500", "503"):
                labels = f'route="{route}",method="{method}",code="{code}"'
                value = (seed + 1) * (r_i + 1) * 1000 + tick * 7 + len(method) + int(code)
                add(f"http_requests_total{{{labels}}} {value}")
    add("# HELP http_request_duration_seconds Latency of requests.")
    add("# TYPE http_request_duration_seconds histogram")
    buckets = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10")
    for route in routes:
        for method in ("GET", "POST"):
            labels = f'route="{route}",method="{method}"'
            for b_i, le in enumerate((*buckets, "+Inf")):
                add(f'http_request_duration_seconds_bucket{{{labels},le="{le}"}} {tick + b_i}')
            add(f"http_request_duration_seconds_sum{{{labels}}} {tick * 0.731 + 12.5}")
            add(f"http_request_duration_seconds_count{{{labels}}} {tick * 3 + 121}")
    add("# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.")
    add("# TYPE node_cpu_seconds_total counter")
    modes = ("idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user")
    for cpu in range(32):
        for mode in modes:
            add(f'node_cpu_seconds_total{{cpu="{cpu}",mode="{mode}"}} {1000.25 + tick + cpu}')
    for direction in ("receive", "transmit"):
        for what in ("bytes", "packets", "errs"):
            metric = f"node_network_{direction}_{what}_total"
            add(f"# TYPE {metric} counter")
            for dev in range(8):
                add(f'{metric}{{device="eth{dev}"}} {123456789 + tick * 1024 + dev}')
    for what in ("avail_bytes", "size_bytes", "files", "files_free"):
        add(f"# TYPE node_filesystem_{what} gauge")
        for m in range(12):
            labels = f'device="/dev/sd{m}",fstype="ext4",mountpoint="/m{m}"'
            add(f"node_filesystem_{what}{{{labels}}} {5e10 + m}")
    for what in ("hits", "misses", "size"):
        add(f"# TYPE app_cache_{what} gauge")
        for key in range(45):
            add(f'app_cache_{what}{{cache="c{key}"}} {tick * 3 + key}')
    add("# TYPE process_cpu_seconds_total counter")
    add(f"process_cpu_seconds_total {tick * 0.1 + 3.2}")
    for g in ("process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"):
        add(f"# TYPE {g} gauge")
        add(f"{g} {1.7e9 + seed}")
    return "\n".join(out) + "\n"


def _serve(count: int, ports: mp.Queue) -> None:  # type: ignore[type-arg]
    """Child process: one HTTP server per target; the body changes every request. HTTP/1.1
    with keep-alive, as exporters serve (Go's net/http): scrapers reuse their connection."""
    servers = []
    for seed in range(count):
        bodies = [exposition(seed, tick).encode() for tick in range(4)]
        hits = [0]

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self, bodies: list[bytes] = bodies, hits: list[int] = hits) -> None:
                hits[0] += 1
                body = bodies[hits[0] % len(bodies)]
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        servers.append(httpd)
        Thread(target=httpd.serve_forever, daemon=True).start()
    ports.put([s.server_address[1] for s in servers])
    time.sleep(600)  # the parent terminates us


def _age(engine: Any, history: int, before_ms: int) -> int:
    """Give every series `history` older samples, 15 s apart (what half an hour of scraping
    leaves), packed as the collector packs them: a young database is cheaper to add to."""
    from sqlalchemy import text

    from collector.landing import insert_samples, move_recent

    with engine.begin() as conn:
        ids = [row[0] for row in conn.execute(text("SELECT id FROM series ORDER BY id"))]
        rows = [
            (sid, before_ms - k * 15_000, float(k)) for sid in ids for k in range(history, 0, -1)
        ]
        insert_samples(conn, rows)
    move_recent(engine, before_ms)
    return len(rows)


def _check_stored(engine: Any, expected: int) -> None:
    """Every sample scraped (and aged) is in the database, packed or still landing."""
    from sqlalchemy import text

    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT (SELECT coalesce(sum(count), 0) FROM sample_chunk)"
                " + (SELECT count(*) FROM sample_recent)"
            )
        ).scalar()
    if found != expected:
        raise SystemExit(f"the database holds {found} samples, {expected} were stored")


def bench_opsloop(
    urls: list[str], rounds: int, history: int, database_url: str | None
) -> dict[str, float]:
    """CPU µs per stored sample: first round (creates series), young and aged table."""
    from sqlmodel import Session

    from collector.config import ScrapeConfig
    from collector.landing import move_recent
    from collector.models import TargetSource
    from collector.pool import ScrapePool
    from collector.runner import tune_gc
    from collector.scrape import TargetSpec
    from collector.storage import ROLLUP_MS
    from collector.targets import ensure_target
    from core.clock import from_ms, to_ms, utcnow
    from core.db import create_db_engine
    from core.migrate import upgrade

    tmp = Path(tempfile.mkdtemp(prefix="opsloop-bench-"))
    engine = create_db_engine(database_url or f"sqlite:///{tmp / 'bench.db'}")
    upgrade(engine)
    if database_url:
        from sqlalchemy import text

        with engine.begin() as conn:
            conn.execute(text("DELETE FROM sample_chunk; DELETE FROM sample_recent"))
            conn.execute(text("DELETE FROM rollup; DELETE FROM scrape_run"))
            conn.execute(text("DELETE FROM series; DELETE FROM target"))
    specs = []
    with Session(engine) as session:
        for i, url in enumerate(urls):
            t = ensure_target(
                session,
                job="bench",
                url=url,
                labels={"shard": str(i % 4)},
                interval_s=INTERVAL_S,
                timeout_s=10,
                source=TargetSource.API,
            )
            session.commit()
            specs.append(TargetSpec.of(t))
    tune_gc()  # what the collector does when it starts in opsloop
    start_ms = to_ms(utcnow()) - 3_600_000
    slot_at = [from_ms(start_ms - start_ms % ROLLUP_MS)]  # a bucket's start, an hour ago
    pool = ScrapePool(engine, ScrapeConfig(), lambda: slot_at[0], max_workers=8)

    def measure(count: int) -> tuple[float, int, int]:
        """Rounds of scrapes from a bucket's start, then the move of their samples into
        chunks (counted too: the collector does it once per 5-minute bucket, i.e. every 20
        scrapes at 15 s); the clock then skips to the next bucket.

        A round is one scheduler tick that claims and starts every target (its `now`
        moves on by an interval each round), so schedule reads and claims are counted."""
        cpu, stored = 0.0, 0
        for _ in range(count):
            cpu0 = time.process_time()
            futures = pool.tick(slot_at[0], first_now=True)
            outcomes = [f.result() for f in futures]
            cpu += time.process_time() - cpu0
            slot_at[0] += timedelta(seconds=INTERVAL_S)
            if len(outcomes) != len(specs):
                raise SystemExit(f"{len(outcomes)} of {len(specs)} targets were due")
            bad = [o.error for o in outcomes if o.error]
            if bad:
                raise SystemExit(f"scrape failed: {bad[0]}")
            stored += sum(o.post_relabel + 5 for o in outcomes)  # + the 5 synthetic series
        end_ms = to_ms(slot_at[0]) + ROLLUP_MS - 1
        end_ms -= end_ms % ROLLUP_MS  # the bucket boundary at or after the last round
        cpu0 = time.process_time()
        moved = move_recent(engine, end_ms)
        cpu += time.process_time() - cpu0
        if moved != stored:
            raise SystemExit(f"{moved} samples moved into chunks, {stored} were scraped")
        slot_at[0] = from_ms(end_ms)
        return cpu * 1e6 / stored, stored // count, stored

    try:
        first_us, per_round, expected = measure(1)
        young_us, _, stored = measure(rounds)
        _check_stored(engine, expected := expected + stored)
        t0 = time.monotonic()
        expected += _age(engine, history, start_ms - start_ms % ROLLUP_MS)
        aged_s = time.monotonic() - t0
        aged_us, _, stored = measure(rounds)
        _check_stored(engine, expected + stored)
    finally:
        pool.shutdown()
        engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "first": first_us,
        "young": young_us,
        "aged": aged_us,
        "per_round": per_round,
        "aged_s": aged_s,
    }


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _appended(port: int) -> float:
    """prometheus_tsdb_head_samples_appended_total from Prometheus's own /metrics."""
    from collector.exposition import parse_text

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        body = resp.read().decode()
    return sum(
        s.value
        for s in parse_text(body).samples
        if s.name == "prometheus_tsdb_head_samples_appended_total"
    )


def bench_prometheus(binary: str, addresses: list[str]) -> float | None:
    """µs of Prometheus CPU per appended sample while scraping the targets every second."""
    tmp = Path(tempfile.mkdtemp(prefix="prom-bench-"))
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{"job_name": "bench", "static_configs": [{"targets": addresses}]}],
    }
    (tmp / "prometheus.yml").write_text(json.dumps(config))
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + PROMETHEUS_RUN_S
        time.sleep(PROMETHEUS_WARMUP_S)  # start-up, first scrapes and series creation
        samples0, cpu0 = _appended(port), _cpu_s(proc.pid)
        time.sleep(max(deadline - time.monotonic(), 5.0))
        samples1, cpu1 = _appended(port), _cpu_s(proc.pid)
    except OSError as exc:
        print(f"prometheus: could not measure ({exc})")
        return None
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    if samples1 <= samples0:
        print("prometheus: appended no samples while measured")
        return None
    print(f"prometheus: {samples1 - samples0:,.0f} samples appended, {cpu1 - cpu0:.2f} s CPU")
    return (cpu1 - cpu0) * 1e6 / (samples1 - samples0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20, help="rounds per measure (20: a bucket)")
    parser.add_argument("--history", type=int, default=120, help="older samples per series")
    parser.add_argument("--skip-prometheus", action="store_true")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    ports_q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    server = mp.Process(target=_serve, args=(args.targets, ports_q), daemon=True)
    server.start()
    try:
        ports = ports_q.get(timeout=60)
        addresses = [f"127.0.0.1:{p}" for p in ports]
        urls = [f"http://{a}/metrics" for a in addresses]
        got = bench_opsloop(urls, max(args.rounds, 1), args.history, args.database_url)
        print(f"targets: {args.targets}, samples per round (incl. synthetic): {got['per_round']}")
        print(f"opsloop first round (creates the series): {got['first']:.2f} us CPU per sample")
        print(f"opsloop young table ({args.rounds} rounds): {got['young']:.2f} us CPU per sample")
        print(
            f"opsloop after aging the table with {args.history} older samples per series "
            f"({got['aged_s']:.1f} s): {got['aged']:.2f} us CPU per sample"
        )
        us = got["aged"]
        print(f"opsloop_us_per_sample={us:.2f}")
        binary = shutil.which("prometheus") or (
            "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
        )
        if args.skip_prometheus:
            return 0
        if binary is None:
            print("prometheus not installed: no ratio")
            return 0
        prom_us = bench_prometheus(binary, addresses)
        if prom_us is not None:
            print(f"prometheus_us_per_sample={prom_us:.2f}")
            print(f"ratio_vs_prometheus={us / prom_us:.2f}")
    finally:
        server.terminate()
        server.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
