"""Binary operators: arithmetic and comparison on numbers, vector matching, set operations."""

from __future__ import annotations

import math

from collector.promql.errors import EvaluationError
from collector.promql.nodes import COMPARISONS, Binary
from collector.series import METRIC_NAME_LABEL

Labels = dict[str, str]
Vector = list[tuple[Labels, float]]
Signature = tuple[tuple[str, str], ...]


def sort_key(item: tuple[Labels, float]) -> Signature:
    return tuple(sorted(item[0].items()))


def drop_name(labels: Labels) -> Labels:
    return {k: v for k, v in labels.items() if k != METRIC_NAME_LABEL}


def _divide(a: float, b: float) -> float:
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def apply_operator(op: str, a: float, b: float) -> tuple[float, bool]:
    """(value, keep) of `a op b`; comparisons keep the left value when true (PromQL filter)."""
    if op == "+":
        return a + b, True
    if op == "-":
        return a - b, True
    if op == "*":
        return a * b, True
    if op == "/":
        return _divide(a, b), True
    if op == "%":
        return (math.fmod(a, b) if b != 0 and not math.isinf(a) else math.nan), True
    if op == "^":
        try:
            return math.pow(a, b), True
        except (OverflowError, ValueError):
            return (math.inf if a > 0 else math.nan), True
    comparisons = {
        "==": a == b,
        "!=": a != b,
        "<": a < b,
        "<=": a <= b,
        ">": a > b,
        ">=": a >= b,
    }
    return a, comparisons[op]


def unique(vector: Vector) -> Vector:
    seen: set[tuple[tuple[str, str], ...]] = set()
    for item in vector:
        key = sort_key(item)
        if key in seen:
            raise EvaluationError(
                f"vector cannot contain metrics with the same labelset {dict(item[0])}"
            )
        seen.add(key)
    return vector


def vector_scalar(expr: Binary, vector: Vector, scalar: float, *, vector_left: bool) -> Vector:
    comparison = expr.op in COMPARISONS
    out: Vector = []
    for labels, v in vector:
        a, b = (v, scalar) if vector_left else (scalar, v)
        value, keep = apply_operator(expr.op, a, b)
        if comparison:
            value = v  # the vector's own sample is what a filter keeps
        if expr.return_bool:
            value, keep = (1.0 if keep else 0.0), True
        if keep:
            drop = not comparison or expr.return_bool
            out.append((drop_name(labels) if drop else labels, value))
    return unique(out) if not comparison or expr.return_bool else out


def _signature(expr: Binary, labels: Labels) -> tuple[tuple[str, str], ...]:
    matching = expr.matching
    if matching is not None and matching.on:
        return tuple((k, labels.get(k, "")) for k in sorted(matching.labels))
    ignored = set(matching.labels) if matching is not None else set()
    ignored.add(METRIC_NAME_LABEL)
    return tuple(sorted((k, v) for k, v in labels.items() if k not in ignored))


def vector_vector(expr: Binary, lhs: Vector, rhs: Vector) -> Vector:
    if expr.op in ("and", "or", "unless"):
        return _set_operation(expr, lhs, rhs)
    right: dict[tuple[tuple[str, str], ...], float] = {}
    for labels, value in rhs:
        key = _signature(expr, labels)
        if key in right:
            raise EvaluationError(
                f"found duplicate series for the match group {dict(key)} on the right hand-side "
                "of the operation; many-to-many matching is not allowed"
            )
        right[key] = value
    comparison = expr.op in COMPARISONS
    seen: set[tuple[tuple[str, str], ...]] = set()
    out: Vector = []
    for labels, value in lhs:
        key = _signature(expr, labels)
        if key not in right:
            continue
        if key in seen:
            raise EvaluationError(
                f"multiple matches for labels {dict(key)}: many-to-one matching "
                "(group_left/group_right) is not supported"
            )
        seen.add(key)
        result, keep = apply_operator(expr.op, value, right[key])
        if expr.return_bool:
            result, keep = (1.0 if keep else 0.0), True
        if keep:
            out.append(
                (_result_labels(expr, labels, drop=not comparison or expr.return_bool), result)
            )
    return unique(out)


def _result_labels(expr: Binary, labels: Labels, *, drop: bool) -> Labels:
    result = drop_name(labels) if drop else dict(labels)
    matching = expr.matching
    if matching is not None:
        if matching.on:
            result = {k: v for k, v in result.items() if k in matching.labels}
        else:
            result = {k: v for k, v in result.items() if k not in matching.labels}
    return result


def _set_operation(expr: Binary, lhs: Vector, rhs: Vector) -> Vector:
    right_keys = {_signature(expr, labels) for labels, _ in rhs}
    if expr.op == "and":
        return [item for item in lhs if _signature(expr, item[0]) in right_keys]
    if expr.op == "unless":
        return [item for item in lhs if _signature(expr, item[0]) not in right_keys]
    left_keys = {_signature(expr, labels) for labels, _ in lhs}
    return lhs + [item for item in rhs if _signature(expr, item[0]) not in left_keys]
