"""Differential test: the same samples and expressions through Prometheus's own engine (promtool).

`promtool test rules` evaluates each expression at a given time on series written in its
test notation and, when the expected result is empty, prints what it got; those numbers must
equal ours. Debian's promtool is Prometheus 2.x, whose ranges are closed on the left where
Prometheus 3 (and opsloop) leave them open, so evaluation times are chosen off the 15 s
sample grid, where the two agree.
"""

import json
import re
import shutil
import subprocess

import pytest
import yaml

from collector.promql import evaluate_instant
from collector.series import MemorySource, SeriesData

pytestmark = pytest.mark.integration

INTERVAL_S = 15
# name{labels} -> values every 15 s from 0 s (None: no sample), in promtool notation below.
SERIES = {
    'c_total{job="a",code="200"}': [0, 4, 9, 15, 22, 30, 3, 9, 17, 26, 36, None, 60, 71, 83, 96],
    'c_total{job="a",code="500"}': [10, 10, 11, 11, 13, 13, 13, 14, 16, 17, 17, 19, 20, 20, 21, 22],
    'c_total{job="b",code="200"}': [None, None, None, 100, 130, 161, 190, 222, 250, 281, 0, 33],
    'g{job="a"}': [3, 7, 1, 8, 2, 9, 4, 6, 5, 5, 2, 8, 3, 3, 9, 1],
    'g{job="b"}': [10, 2, None, None, 6, 3, 7, 4, 8],
    'h_bucket{le="0.1"}': [0, 5, 9, 12, 20, 26, 31, 35, 42, 47, 50, 58, 61, 66, 70, 77],
    'h_bucket{le="0.5"}': [0, 9, 17, 25, 38, 47, 58, 66, 75, 85, 94, 105, 113, 120, 131, 140],
    'h_bucket{le="1"}': [0, 10, 19, 29, 42, 52, 64, 74, 84, 95, 105, 117, 126, 134, 146, 156],
    'h_bucket{le="+Inf"}': [0, 11, 21, 32, 46, 57, 70, 80, 91, 103, 114, 127, 137, 146, 159, 170],
}
EXPRESSIONS = [
    "rate(c_total[1m])",
    "increase(c_total[2m])",
    "increase(c_total[3m])",
    "rate(c_total[90s] offset 20s)",
    "sum by (job) (rate(c_total[1m]))",
    'sum(rate(c_total{code=~"5.."}[2m])) / sum(rate(c_total[2m]))',
    "avg_over_time(g[1m])",
    "max_over_time(g[2m])",
    "min_over_time(g[45s])",
    "sum_over_time(g[1m])",
    "count_over_time(g[3m])",
    "histogram_quantile(0.9, sum by (le) (rate(h_bucket[1m])))",
    "histogram_quantile(0.5, h_bucket)",
    "histogram_quantile(0.99, rate(h_bucket[2m]))",
    "g > 4",
    "g <= bool 4",
    "g * 2 - 1",
    "-g + abs(g - 5)",
    "sum(g)",
    "avg without (job) (g)",
    "count(c_total) by (code)",
    "max by (code) (c_total)",
    "min(c_total)",
    "c_total / on (job, code) c_total",
    'g{job="a"} or g{job="b"} > 5',
    "g unless g < 4",
    'c_total and on (job) g{job="a"}',
    "g",
    "1 + 2 * 3",
]
EVAL_TIMES_S = [67, 128, 173, 232]


def _notation(values: list[float | None]) -> str:
    return " ".join("_" if v is None else str(v) for v in values)


def _go_duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return (f"{minutes}m" if minutes else "") + (f"{rest}s" if rest or not minutes else "")


def _source() -> MemorySource:
    series = []
    for text, values in SERIES.items():
        name, labels = text.split("{", 1)
        pairs = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        points = [(i * INTERVAL_S * 1000, v) for i, v in enumerate(values) if v is not None]
        series.append(
            SeriesData(
                {"__name__": name, **pairs}, [t for t, _ in points], [float(v) for _, v in points]
            )
        )
    return MemorySource(series)


def _promtool_results(tmp_path) -> dict[tuple[str, str], dict[str, float]]:
    tests = [
        {"expr": expr, "eval_time": f"{t}s", "exp_samples": []}
        for expr in EXPRESSIONS
        for t in EVAL_TIMES_S
    ]
    document = {
        "rule_files": [],
        "evaluation_interval": "1s",
        "tests": [
            {
                "interval": f"{INTERVAL_S}s",
                "input_series": [{"series": s, "values": _notation(v)} for s, v in SERIES.items()],
                "promql_expr_test": tests,
            }
        ],
    }
    path = tmp_path / "promql_test.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    out = subprocess.run(
        ["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    text = out.stdout + out.stderr
    results: dict[tuple[str, str], dict[str, float]] = {}
    for expr, time, got in re.findall(
        r'expr: ("(?:[^"\\]|\\.)*"), time: (\S+),\n\s+exp: .*\n\s+got: (.*)\n', text
    ):
        samples = re.findall(r"(\{[^}]*\}) (\S+?)(?:, |$)", got)
        results[(json.loads(expr), time)] = {labels: float(value) for labels, value in samples}
    assert out.returncode != 0, text  # every case asks for nothing, so each non-empty one fails
    return results


def _ours(expr: str, at_s: int) -> dict[str, float]:
    result = evaluate_instant(expr, _source(), at_s * 1000)
    formatted = {}
    for sample in result:
        inner = ", ".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
        formatted["{" + inner + "}"] = sample.value
    return formatted


def test_results_equal_those_of_prometheus(tmp_path):
    if shutil.which("promtool") is None:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    theirs = _promtool_results(tmp_path)
    compared = 0
    for expr in EXPRESSIONS:
        for t in EVAL_TIMES_S:
            expected = theirs.get((expr, _go_duration(t)), {})
            got = _ours(expr, t)
            assert set(got) == set(expected), (expr, t, got, expected)
            for labels, value in expected.items():
                assert got[labels] == pytest.approx(value, rel=1e-9, abs=1e-12), (expr, t, labels)
            compared += len(expected)
    assert compared > 150  # most cases give samples: the comparison is not vacuous
