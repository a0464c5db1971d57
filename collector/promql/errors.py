"""Exception tree of the expression language.

QueryError (a collector.errors.CollectorError)
├── ExpressionError   the text is not a valid expression (carries the 0-based char position)
└── EvaluationError   a valid expression cannot be evaluated on these series
                      (many-to-many matching, duplicate output series, too many points)
"""

from __future__ import annotations

from collector.errors import CollectorError


class QueryError(CollectorError):
    """Base of every error raised by collector.promql."""


class ExpressionError(QueryError):
    """A parse or type error; `position` is the 0-based character offset in the text."""

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"parse error at char {position + 1}: {reason}")
        self.position = position
        self.reason = reason


class EvaluationError(QueryError):
    """The expression is valid but its evaluation failed; the message says why."""
