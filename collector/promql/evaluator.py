"""Evaluation of a syntax tree over a SeriesSource, at one instant or over a range of steps.

Every selector is fetched from the source once per query (covering all steps), then each
step slices the fetched samples, so a range query costs one read per selector.
"""

from __future__ import annotations

import math
import struct
from bisect import bisect_right
from dataclasses import dataclass

from collector.promql.errors import EvaluationError, ExpressionError
from collector.promql.functions import bucket_quantile, extrapolated_rate, over_time
from collector.promql.nodes import (
    COMPARISONS,
    Aggregate,
    Binary,
    Call,
    Expr,
    MatrixSelector,
    NumberLiteral,
    Paren,
    Unary,
    ValueType,
    VectorSelector,
)
from collector.promql.operators import (
    Labels,
    Vector,
    apply_operator,
    drop_name,
    sort_key,
    unique,
    vector_scalar,
    vector_vector,
)
from collector.promql.parser import parse_expr
from collector.series import METRIC_NAME_LABEL, InstantSample, SeriesData, SeriesSource

DEFAULT_LOOKBACK_MS = 300_000
MAX_POINTS_PER_SERIES = 11_000  # Prometheus's own bound on a range query's resolution
# Prometheus marks a series that disappeared with this NaN bit pattern (a staleness marker).
_STALE_NAN_BITS = 0x7FF0000000000002


@dataclass(frozen=True)
class _Matrix:
    """The samples of each series in (start_ms, end_ms] at one evaluation step."""

    series: list[tuple[Labels, list[int], list[float]]]
    start_ms: int
    end_ms: int


Value = float | Vector | _Matrix


def evaluate_instant(
    expr: Expr | str,
    source: SeriesSource,
    at_ms: int,
    *,
    lookback_ms: int = DEFAULT_LOOKBACK_MS,
) -> list[InstantSample]:
    """The value at `at_ms` as a vector; a scalar comes back as one sample without labels."""
    tree = _instant_tree(expr)
    value = _Evaluator(source, at_ms, at_ms, lookback_ms).eval(tree, at_ms)
    if isinstance(value, float):
        return [InstantSample({}, value, at_ms)]
    assert isinstance(value, list)
    return [InstantSample(labels, v, at_ms) for labels, v in sorted(value, key=sort_key)]


def evaluate_range(
    expr: Expr | str,
    source: SeriesSource,
    start_ms: int,
    end_ms: int,
    step_ms: int,
    *,
    lookback_ms: int = DEFAULT_LOOKBACK_MS,
) -> list[SeriesData]:
    """The expression at start, start+step, ... <= end; one SeriesData per output label set."""
    tree = _instant_tree(expr)
    if step_ms <= 0:
        raise EvaluationError("step must be a positive duration")
    if end_ms < start_ms:
        raise EvaluationError("end must not be before start")
    points = (end_ms - start_ms) // step_ms + 1
    if points > MAX_POINTS_PER_SERIES:
        raise EvaluationError(
            f"exceeded maximum resolution of {MAX_POINTS_PER_SERIES} points per series "
            f"({points} asked); increase the step"
        )
    evaluator = _Evaluator(source, start_ms, end_ms, lookback_ms)
    out: dict[tuple[tuple[str, str], ...], SeriesData] = {}
    for t in range(start_ms, end_ms + 1, step_ms):
        value = evaluator.eval(tree, t)
        if isinstance(value, _Matrix):
            raise EvaluationError("a range vector cannot be the result")
        vector: Vector = [({}, value)] if isinstance(value, float) else value
        for labels, v in vector:
            series = out.setdefault(sort_key((labels, v)), SeriesData(dict(labels)))
            series.timestamps_ms.append(t)
            series.values.append(v)
    return [out[key] for key in sorted(out)]


def _instant_tree(expr: Expr | str) -> Expr:
    tree = parse_expr(expr) if isinstance(expr, str) else expr
    if tree.type is ValueType.MATRIX:
        raise ExpressionError(
            0, "a range vector cannot be the result; apply a function such as rate() to it"
        )
    return tree


def _is_stale(value: float) -> bool:
    return math.isnan(value) and struct.unpack("<Q", struct.pack("<d", value))[0] == _STALE_NAN_BITS


class _Evaluator:
    def __init__(self, source: SeriesSource, first_ms: int, last_ms: int, lookback_ms: int) -> None:
        self.source = source
        self.first_ms = first_ms
        self.last_ms = last_ms
        self.lookback_ms = lookback_ms
        self._fetched: dict[tuple[object, ...], list[SeriesData]] = {}

    def fetch(self, sel: VectorSelector, window_ms: int) -> list[SeriesData]:
        key = (sel.matchers, sel.offset_ms, window_ms)
        if key not in self._fetched:
            start = self.first_ms - sel.offset_ms - window_ms
            end = self.last_ms - sel.offset_ms
            self._fetched[key] = self.source.select(list(sel.matchers), start, end)
        return self._fetched[key]

    def eval(self, expr: Expr, t: int) -> Value:
        if isinstance(expr, NumberLiteral):
            return expr.value
        if isinstance(expr, Paren):
            return self.eval(expr.expr, t)
        if isinstance(expr, VectorSelector):
            return self.instant_selector(expr, t)
        if isinstance(expr, MatrixSelector):
            return self.range_selector(expr, t)
        if isinstance(expr, Unary):
            inner = self.eval(expr.expr, t)
            if isinstance(inner, float):
                return -inner
            return [(drop_name(labels), -v) for labels, v in inner]  # type: ignore[union-attr]
        if isinstance(expr, Aggregate):
            return self.aggregate(expr, t)
        if isinstance(expr, Call):
            return self.call(expr, t)
        if isinstance(expr, Binary):
            return self.binary(expr, t)
        raise TypeError(f"not an expression node: {expr!r}")

    def instant_selector(self, sel: VectorSelector, t: int) -> Vector:
        end = t - sel.offset_ms
        out: Vector = []
        for series in self.fetch(sel, self.lookback_ms):
            i = bisect_right(series.timestamps_ms, end) - 1
            if i < 0 or series.timestamps_ms[i] <= end - self.lookback_ms:
                continue
            value = series.values[i]
            if not _is_stale(value):
                out.append((series.labels, value))
        return out

    def range_selector(self, sel: MatrixSelector, t: int) -> _Matrix:
        end = t - sel.vector.offset_ms
        start = end - sel.range_ms
        found = []
        for series in self.fetch(sel.vector, sel.range_ms):
            lo = bisect_right(series.timestamps_ms, start)
            hi = bisect_right(series.timestamps_ms, end)
            ts = series.timestamps_ms[lo:hi]
            vs = series.values[lo:hi]
            if any(_is_stale(v) for v in vs):
                kept = [(a, b) for a, b in zip(ts, vs, strict=True) if not _is_stale(b)]
                ts, vs = [a for a, _ in kept], [b for _, b in kept]
            if ts:
                found.append((series.labels, ts, vs))
        return _Matrix(found, start, end)

    def aggregate(self, agg: Aggregate, t: int) -> Vector:
        vector = self.eval(agg.expr, t)
        assert isinstance(vector, list)
        groups: dict[tuple[tuple[str, str], ...], tuple[Labels, list[float]]] = {}
        wanted = set(agg.grouping)
        for labels, value in vector:
            if agg.without:
                kept = {
                    k: v for k, v in labels.items() if k not in wanted and k != METRIC_NAME_LABEL
                }
            else:
                kept = {k: v for k, v in labels.items() if k in wanted}
            key = tuple(sorted(kept.items()))
            groups.setdefault(key, (kept, []))[1].append(value)
        return [(labels, _aggregate(agg.op, values)) for labels, values in groups.values()]

    def call(self, call: Call, t: int) -> Value:
        name = call.func
        args = [self.eval(arg, t) for arg in call.args]
        if name == "time":
            return t / 1000
        if name == "vector":
            return [({}, float(args[0]))]  # type: ignore[arg-type]
        if name == "scalar":
            vector = args[0]
            assert isinstance(vector, list)
            return float(vector[0][1]) if len(vector) == 1 else math.nan
        if name == "abs":
            return unique([(drop_name(lb), abs(v)) for lb, v in args[0]])  # type: ignore[union-attr]
        if name == "histogram_quantile":
            return _histogram_quantile(float(args[0]), args[1])  # type: ignore[arg-type]
        matrix = args[0]
        assert isinstance(matrix, _Matrix)
        out: Vector = []
        for labels, ts, vs in matrix.series:
            if name in ("rate", "increase"):
                value = extrapolated_rate(
                    ts, vs, matrix.start_ms, matrix.end_ms, is_rate=name == "rate"
                )
            else:
                value = over_time(name, vs)
            if value is not None:
                out.append((drop_name(labels), value))
        return unique(out)

    def binary(self, expr: Binary, t: int) -> Value:
        lhs = self.eval(expr.lhs, t)
        rhs = self.eval(expr.rhs, t)
        if isinstance(lhs, float) and isinstance(rhs, float):
            value, keep = apply_operator(expr.op, lhs, rhs)
            return (1.0 if keep else 0.0) if expr.op in COMPARISONS else value
        if isinstance(lhs, float):
            return vector_scalar(expr, rhs, lhs, vector_left=False)  # type: ignore[arg-type]
        if isinstance(rhs, float):
            return vector_scalar(expr, lhs, rhs, vector_left=True)  # type: ignore[arg-type]
        return vector_vector(expr, lhs, rhs)  # type: ignore[arg-type]


def _aggregate(op: str, values: list[float]) -> float:
    if op == "sum":
        return math.fsum(values) if not any(map(math.isinf, values)) else sum(values)
    if op == "avg":
        return _aggregate("sum", values) / len(values)
    if op == "count":
        return float(len(values))
    best = values[0]
    for value in values[1:]:
        better = value > best if op == "max" else value < best
        if better or math.isnan(best):
            best = value
    return best


def _histogram_quantile(q: float, vector: Vector) -> Vector:
    groups: dict[tuple[tuple[str, str], ...], tuple[Labels, list[tuple[float, float]]]] = {}
    for labels, count in vector:
        try:
            bound = float(labels["le"])
        except (KeyError, ValueError):
            continue  # Prometheus ignores series without a valid `le`
        kept = {k: v for k, v in labels.items() if k not in ("le", METRIC_NAME_LABEL)}
        key = tuple(sorted(kept.items()))
        groups.setdefault(key, (kept, []))[1].append((bound, count))
    return [(labels, bucket_quantile(q, buckets)) for labels, buckets in groups.values()]
