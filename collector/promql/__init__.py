"""A small expression language in PromQL syntax, evaluated over stored series.

Written by hand because no Python PromQL evaluator is well kept (the PyPI projects either
only parse, or call a Prometheus server); this one gives PromQL's numbers — rate
extrapolation, counter resets, histogram_quantile interpolation, 5-minute lookback — for
the subset opsloop needs. See README "Expression language" for what is supported.
"""

from collector.promql.errors import EvaluationError, ExpressionError, QueryError
from collector.promql.evaluator import DEFAULT_LOOKBACK_MS, evaluate_instant, evaluate_range
from collector.promql.nodes import Expr, ValueType, format_expr
from collector.promql.parser import parse_expr

__all__ = [
    "DEFAULT_LOOKBACK_MS",
    "EvaluationError",
    "Expr",
    "ExpressionError",
    "QueryError",
    "ValueType",
    "evaluate_instant",
    "evaluate_range",
    "format_expr",
    "parse_expr",
]
