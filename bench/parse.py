"""Parse throughput of opsloop's text parser against prometheus_client's, on node_exporter output.

    python bench/parse.py

Both parsers read ../shared/fixtures/prometheus/node_exporter-e2e-output.txt; the script
checks they yield the same samples, then times each (best of several rounds of CPU time,
bounded to about 20 s in all) and prints both rates and, last,
ratio_vs_prometheus_client=<x> (goal: x >= 5).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from collector.exposition import parse_text  # noqa: E402

FIXTURE = ROOT.parent / "shared" / "fixtures" / "prometheus" / "node_exporter-e2e-output.txt"
BUDGET_S = 8.0  # per parser


def reference_samples(body: str) -> list[tuple[object, ...]]:
    return [
        (s.name, s.labels, "NaN" if math.isnan(s.value) else s.value, s.timestamp)
        for f in text_string_to_metric_families(body)
        for s in f.samples
    ]


def our_samples(body: str) -> list[tuple[object, ...]]:
    return [
        (
            s.name,
            s.labels,
            "NaN" if math.isnan(s.value) else s.value,
            None if s.timestamp_ms is None else s.timestamp_ms / 1000,
        )
        for s in parse_text(body).samples
    ]


def best_cpu_s(run: Callable[[], object], budget_s: float) -> tuple[float, int]:
    """Smallest CPU time of one run, over as many runs as fit the budget (at least 3)."""
    best, rounds, spent = math.inf, 0, 0.0
    while rounds < 3 or (spent < budget_s and rounds < 200):
        start = time.process_time()
        run()
        took = time.process_time() - start
        best, spent, rounds = min(best, took), spent + took, rounds + 1
    return best, rounds


def main() -> int:
    if not FIXTURE.exists():
        print(f"fixture {FIXTURE} is absent; nothing to measure", file=sys.stderr)
        return 2
    body = FIXTURE.read_text(encoding="utf-8")
    ours, theirs = our_samples(body), reference_samples(body)
    if ours != theirs:
        print(f"MISMATCH: opsloop {len(ours)} samples, prometheus_client {len(theirs)}")
        return 1
    n = len(ours)
    print(f"fixture: {FIXTURE.name}, {len(body)} bytes, {n} samples; both parsers agree")
    ref_s, ref_rounds = best_cpu_s(lambda: list(text_string_to_metric_families(body)), BUDGET_S)
    our_s, our_rounds = best_cpu_s(lambda: parse_text(body), BUDGET_S)
    print(
        f"prometheus_client: {n / ref_s:,.0f} samples/s "
        f"({ref_s * 1e6 / n:.2f} us/sample, best of {ref_rounds})"
    )
    print(
        f"opsloop:           {n / our_s:,.0f} samples/s "
        f"({our_s * 1e6 / n:.2f} us/sample, best of {our_rounds})"
    )
    print(f"ratio_vs_prometheus_client={ref_s / our_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
