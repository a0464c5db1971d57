"""The functions of the language, computed exactly as Prometheus computes them.

`extrapolated_rate` follows Prometheus's `extrapolatedRate` (promql/functions.go) and
`bucket_quantile` its `BucketQuantile` (promql/quantile.go), including their edge cases, so
that a query gives the same number here as on a Prometheus server holding the same samples.
"""

from __future__ import annotations

import math
import sys
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from collector.promql.nodes import ValueType

# Bucket counts closer than this (relative) are float noise, not a real difference.
SMALL_DELTA_TOLERANCE = 1e-12
_MIN_NORMAL = sys.float_info.min


@dataclass(frozen=True)
class FunctionSpec:
    arg_types: tuple[ValueType, ...]
    result: ValueType = ValueType.VECTOR


_M, _V, _S = ValueType.MATRIX, ValueType.VECTOR, ValueType.SCALAR
FUNCTIONS: dict[str, FunctionSpec] = {
    "rate": FunctionSpec((_M,)),
    "increase": FunctionSpec((_M,)),
    "avg_over_time": FunctionSpec((_M,)),
    "max_over_time": FunctionSpec((_M,)),
    "min_over_time": FunctionSpec((_M,)),
    "sum_over_time": FunctionSpec((_M,)),
    "count_over_time": FunctionSpec((_M,)),
    "histogram_quantile": FunctionSpec((_S, _V)),
    "abs": FunctionSpec((_V,)),
    "vector": FunctionSpec((_S,)),
    "scalar": FunctionSpec((_V,), _S),
    "time": FunctionSpec((), _S),
}


def extrapolated_rate(
    timestamps_ms: Sequence[int],
    values: Sequence[float],
    range_start_ms: int,
    range_end_ms: int,
    *,
    is_rate: bool,
) -> float | None:
    """rate() / increase() of one counter's samples in (range_start, range_end]; None if < 2."""
    if len(values) < 2:
        return None
    first_t, last_t = timestamps_ms[0], timestamps_ms[-1]
    result = values[-1] - values[0]
    # A drop means the counter restarted from zero: add what it had counted before.
    previous = values[0]
    for value in values[1:]:
        if value < previous:
            result += previous
        previous = value

    duration_to_start = (first_t - range_start_ms) / 1000
    duration_to_end = (range_end_ms - last_t) / 1000
    sampled_interval = (last_t - first_t) / 1000
    average_interval = sampled_interval / (len(values) - 1)
    # Extrapolate to a range boundary only when a sample could be expected there (within
    # 1.1x the average spacing); otherwise assume the series starts/ends half a step away.
    threshold = average_interval * 1.1
    if duration_to_start >= threshold:
        duration_to_start = average_interval / 2
    if result > 0 and values[0] >= 0:
        # Counters start at zero: never extrapolate below it.
        duration_to_zero = sampled_interval * (values[0] / result)
        duration_to_start = min(duration_to_start, duration_to_zero)
    if duration_to_end >= threshold:
        duration_to_end = average_interval / 2
    factor = (sampled_interval + duration_to_start + duration_to_end) / sampled_interval
    if is_rate:
        factor /= (range_end_ms - range_start_ms) / 1000
    return result * factor


def over_time(func: str, values: Sequence[float]) -> float:
    """avg/max/min/sum/count_over_time of the samples of one series (at least one)."""
    if func == "count_over_time":
        return float(len(values))
    if func == "sum_over_time":
        return math.fsum(values)
    if func == "avg_over_time":
        if any(math.isinf(v) for v in values):
            return sum(values) / len(values)
        return math.fsum(values) / len(values)
    best = values[0]
    for value in values[1:]:
        # As in Prometheus, NaN loses against any number.
        better = value > best if func == "max_over_time" else value < best
        if better or math.isnan(best):
            best = value
    return best


def bucket_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float:
    """histogram_quantile over (upper bound, cumulative count) pairs of one histogram."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(buckets, key=lambda b: b[0])
    if not ordered or not math.isinf(ordered[-1][0]) or ordered[-1][0] < 0:
        return math.nan
    bounds, counts = _coalesce(ordered)
    _ensure_monotonic(counts)
    if len(bounds) < 2:
        return math.nan
    observations = counts[-1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = bisect_left(counts, rank, 0, len(counts) - 1)
    if b == len(bounds) - 1:
        return bounds[-2]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start, end, count = 0.0, bounds[b], counts[b]
    if b > 0:
        start = bounds[b - 1]
        count -= counts[b - 1]
        rank -= counts[b - 1]
    return start + (end - start) * (rank / count)


def _coalesce(ordered: Sequence[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """Merge buckets with the same bound (e.g. le="1" and le="1.0") by adding their counts."""
    bounds: list[float] = []
    counts: list[float] = []
    for bound, count in ordered:
        if bounds and bounds[-1] == bound:
            counts[-1] += count
        else:
            bounds.append(bound)
            counts.append(count)
    return bounds, counts


def _ensure_monotonic(counts: list[float]) -> None:
    """Cumulative counts can dip when buckets are scraped at slightly different moments."""
    previous = counts[0]
    for i in range(1, len(counts)):
        current = counts[i]
        if current == previous:
            continue
        if _almost_equal(previous, current) or current < previous:
            counts[i] = previous
            continue
        previous = current


def _almost_equal(a: float, b: float) -> bool:
    if a == b:
        return True
    abs_sum = abs(a) + abs(b)
    diff = abs(a - b)
    if a == 0 or b == 0 or abs_sum < _MIN_NORMAL:
        return diff < SMALL_DELTA_TOLERANCE * _MIN_NORMAL
    return diff / min(abs_sum, sys.float_info.max) < SMALL_DELTA_TOLERANCE
