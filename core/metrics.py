"""opsloop's own metrics, registered on an explicit registry (never the global one)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

T = TypeVar("T")


class OpsMetrics:
    """Every metric opsloop exposes about itself; one instance per process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "opsloop_http_requests",
            "HTTP requests served, by endpoint, method and status.",
            ["endpoint", "method", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "opsloop_http_request_duration_seconds",
            "Time to serve an HTTP request.",
            ["endpoint"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.job_runs = Counter(
            "opsloop_job_runs", "Scheduled job runs, by job.", ["job"], registry=r
        )
        self.job_failures = Counter(
            "opsloop_job_failures", "Scheduled job runs that raised, by job.", ["job"], registry=r
        )
        self.job_duration = Histogram(
            "opsloop_job_duration_seconds",
            "Duration of scheduled job runs.",
            ["job"],
            registry=r,
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
        )
        self.job_last_success = Gauge(
            "opsloop_job_last_success_timestamp_seconds",
            "Unix time of the last successful run of each job.",
            ["job"],
            registry=r,
        )

    @contextmanager
    def time_job(self, job: str) -> Iterator[None]:
        start = time.perf_counter()
        self.job_runs.labels(job).inc()
        try:
            yield
        except BaseException:
            self.job_failures.labels(job).inc()
            raise
        else:
            self.job_last_success.labels(job).set(time.time())
        finally:
            self.job_duration.labels(job).observe(time.perf_counter() - start)

    def run_job(self, job: str, func: Callable[[], T]) -> T:
        with self.time_job(job):
            return func()
