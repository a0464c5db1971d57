"""The demo web shop: a simulated service with its own /metrics, for `opsloop serve --demo`.

Traffic, errors and latency follow the time of day (a function of `now`, so tests can pin
them), with a 10-minute incident (errors and slow answers) every 65 minutes and one a minute
after start, so a new user sees one. Counters advance on each scrape by the time elapsed
since the last, drawing requests from a seeded random generator: the same scrape times give
the same numbers.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from core.clock import utcnow
from core.config import RawConfig

JOB = "webshop"
# Share of traffic and median latency (seconds) of each route.
ROUTES = {
    "/": (0.30, 0.030),
    "/products": (0.25, 0.060),
    "/search": (0.18, 0.090),
    "/cart": (0.15, 0.050),
    "/checkout": (0.07, 0.160),
    "/api/stock": (0.05, 0.040),
}
LATENCY_BUCKETS_S = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0)
INCIDENT_S = 600
INCIDENT_PERIOD_S = 65 * 60  # not a whole hour, so incidents wander across the clock
FIRST_INCIDENT_AFTER_S = 60
STEP_S = 5.0  # simulation step: traffic is recomputed at least this often
MAX_CATCH_UP_S = 15 * 60  # after a long pause, simulate at most this much
LATENCY_SIGMA = 0.45
# The classic text format, which every Prometheus-compatible scraper reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # log-normal spread of answer times

DEMO_CONFIG = {
    "services": [{"name": "webshop", "job": JOB}],
    "slos": [
        {"service": "webshop", "name": "availability", "sli": "availability",
         "objective": "99.9%", "window": "30d"},
        {"service": "webshop", "name": "requests", "sli": "error_ratio",
         "objective": "99%", "window": "30d"},
        {"service": "webshop", "name": "latency", "sli": "latency",
         "objective": "95%", "threshold": "300ms", "window": "30d"},
    ],
}  # fmt: skip


def demo_config() -> RawConfig:
    """Services and SLOs of the demo shop, used when the config file describes none."""
    return RawConfig(data=DEMO_CONFIG)


@dataclass(frozen=True)
class Traffic:
    requests_per_s: float
    error_ratio: float
    latency_factor: float  # multiplies each route's median latency
    incident: bool


def in_incident(now: datetime, started_at: datetime) -> bool:
    since_start = (now - started_at).total_seconds()
    if FIRST_INCIDENT_AFTER_S <= since_start < FIRST_INCIDENT_AFTER_S + INCIDENT_S:
        return True
    return now.timestamp() % INCIDENT_PERIOD_S < INCIDENT_S


def traffic_at(now: datetime, started_at: datetime) -> Traffic:
    """Busiest at 14:00 UTC, quietest at 02:00; an incident multiplies errors and latency."""
    hour = now.hour + now.minute / 60 + now.second / 3600
    daytime = 0.5 + 0.5 * math.sin(2 * math.pi * (hour - 8) / 24)  # 0 at 02:00, 1 at 14:00
    rps = 3.0 + 17.0 * daytime
    error_ratio = 0.001 + 0.002 * daytime
    latency = 1.0 + 0.4 * daytime
    if in_incident(now, started_at):
        # 20 % errors: clearly above the 14.4x fast-burn threshold (14.4 %) of the 99 % SLO
        return Traffic(rps, 0.20, latency * 3.5, True)
    return Traffic(rps, error_ratio, latency, False)


class WebShop:
    """The shop's metrics on their own registry, advanced by simulated traffic."""

    def __init__(self, started_at: datetime, *, seed: int = 7) -> None:
        self.started_at = started_at
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "http_requests", "Requests answered, by route, method and status code.",
            ["route", "method", "code"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "http_request_duration_seconds", "Time to answer a request.", ["route"],
            buckets=LATENCY_BUCKETS_S, registry=r,
        )  # fmt: skip
        self.cpu = Counter("process_cpu_seconds", "CPU time used by the shop.", registry=r)
        self.memory = Gauge(
            "process_resident_memory_bytes", "Resident memory of the shop.", registry=r
        )
        start = Gauge("process_start_time_seconds", "Start of the shop (Unix time).", registry=r)
        start.set(started_at.timestamp())
        self._rng = random.Random(seed)
        self._routes = list(ROUTES)
        self._weights = [share for share, _ in ROUTES.values()]
        self._simulated_to = started_at
        self._carry = 0.0
        self._lock = threading.Lock()

    def advance(self, now: datetime) -> None:
        """Simulate the traffic between the last call and `now`."""
        with self._lock:
            if (now - self._simulated_to).total_seconds() > MAX_CATCH_UP_S:
                self._simulated_to = now - timedelta(seconds=MAX_CATCH_UP_S)
            while self._simulated_to < now:
                step = min(STEP_S, (now - self._simulated_to).total_seconds())
                self._simulate(self._simulated_to, step)
                self._simulated_to += timedelta(seconds=step)

    def _simulate(self, at: datetime, seconds: float) -> None:
        traffic = traffic_at(at, self.started_at)
        expected = traffic.requests_per_s * seconds + self._carry
        count = int(expected)
        self._carry = expected - count
        for route in self._rng.choices(self._routes, self._weights, k=count):
            failed = self._rng.random() < traffic.error_ratio
            code = self._rng.choice(("500", "502", "503")) if failed else "200"
            method = "POST" if route in ("/cart", "/checkout") else "GET"
            self.requests.labels(route, method, code).inc()
            median = ROUTES[route][1] * traffic.latency_factor
            self.latency.labels(route).observe(
                self._rng.lognormvariate(math.log(median), LATENCY_SIGMA)
            )
        self.cpu.inc(seconds * (0.02 + 0.004 * traffic.requests_per_s))
        self.memory.set(150e6 + 4e6 * traffic.requests_per_s + (60e6 if traffic.incident else 0))

    def exposition(self, now: datetime) -> bytes:
        self.advance(now)
        return generate_latest(self.registry)


def make_wsgi_app(shop: WebShop, clock: Callable[[], datetime] = utcnow) -> Any:
    """`/metrics` in the Prometheus text format and a small home page; 404 elsewhere."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            body = shop.exposition(clock())
            start_response("200 OK", [("Content-Type", CONTENT_TYPE)])
            return [body]
        if path == "/":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"opsloop demo web shop: metrics at /metrics\n"]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found\n"]

    return app
