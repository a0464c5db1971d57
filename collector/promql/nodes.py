"""The syntax tree of an expression, its value types, and its printing back to PromQL text."""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum

from collector.series import METRIC_NAME_LABEL, Matcher
from core.durations import format_duration_ms


class ValueType(StrEnum):
    SCALAR = "scalar"
    VECTOR = "vector"
    MATRIX = "matrix"


# Binary operators from loosest to tightest binding (PromQL's precedence table).
PRECEDENCE = {
    "or": 1,
    "and": 2,
    "unless": 2,
    "==": 3,
    "!=": 3,
    "<=": 3,
    "<": 3,
    ">=": 3,
    ">": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "^": 6,
}
COMPARISONS = frozenset({"==", "!=", "<=", "<", ">=", ">"})
SET_OPERATORS = frozenset({"and", "or", "unless"})
AGGREGATIONS = frozenset({"sum", "avg", "max", "min", "count"})
KEYWORDS = frozenset(
    {"and", "or", "unless", "by", "without", "on", "ignoring", "bool", "offset"}
    | {"group_left", "group_right"}
)
# Words that cannot stand alone as a metric name; such names print as {__name__="..."}.
RESERVED = KEYWORDS | AGGREGATIONS | {"inf", "nan"}
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
UNARY_PRECEDENCE = 5  # binds tighter than * and /, looser than ^ (-2^2 == -4)


def _format_number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class Expr(ABC):
    """Base of every node; `type` is what the node evaluates to."""

    @property
    @abstractmethod
    def type(self) -> ValueType:
        """What the node evaluates to."""


@dataclass(frozen=True)
class NumberLiteral(Expr):
    value: float

    @property
    def type(self) -> ValueType:
        return ValueType.SCALAR


@dataclass(frozen=True)
class VectorSelector(Expr):
    """`name{label="x"} offset 5m`; `matchers` include the __name__ matcher when named."""

    matchers: tuple[Matcher, ...]
    offset_ms: int = 0

    @property
    def type(self) -> ValueType:
        return ValueType.VECTOR


@dataclass(frozen=True)
class MatrixSelector(Expr):
    """`selector[5m]`: the samples of the last `range_ms` before each evaluation time."""

    vector: VectorSelector
    range_ms: int

    @property
    def type(self) -> ValueType:
        return ValueType.MATRIX


@dataclass(frozen=True)
class Call(Expr):
    func: str
    args: tuple[Expr, ...]
    result: ValueType = ValueType.VECTOR

    @property
    def type(self) -> ValueType:
        return self.result


@dataclass(frozen=True)
class Aggregate(Expr):
    """`sum by (a, b) (expr)`; `without` flips the grouping to "every label but these"."""

    op: str
    expr: Expr
    grouping: tuple[str, ...] = ()
    without: bool = False

    @property
    def type(self) -> ValueType:
        return ValueType.VECTOR


@dataclass(frozen=True)
class VectorMatching:
    """`on(...)` (on=True) or `ignoring(...)` (on=False) of a binary operation."""

    on: bool
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Binary(Expr):
    op: str
    lhs: Expr
    rhs: Expr
    return_bool: bool = False
    matching: VectorMatching | None = None

    @property
    def type(self) -> ValueType:
        both_scalar = self.lhs.type is ValueType.SCALAR and self.rhs.type is ValueType.SCALAR
        return ValueType.SCALAR if both_scalar else ValueType.VECTOR


@dataclass(frozen=True)
class Unary(Expr):
    """Unary minus (unary plus is dropped by the parser)."""

    expr: Expr

    @property
    def type(self) -> ValueType:
        return self.expr.type


@dataclass(frozen=True)
class Paren(Expr):
    expr: Expr

    @property
    def type(self) -> ValueType:
        return self.expr.type


def format_expr(expr: Expr) -> str:
    """Valid PromQL text for a tree; parsing it again gives an equal tree."""
    if isinstance(expr, NumberLiteral):
        return _format_number(expr.value)
    if isinstance(expr, VectorSelector):
        return _format_selector(expr)
    if isinstance(expr, MatrixSelector):
        text = _format_selector(expr.vector, with_offset=False)
        text += f"[{format_duration_ms(expr.range_ms)}]"
        if expr.vector.offset_ms:
            text += f" offset {format_duration_ms(expr.vector.offset_ms)}"
        return text
    if isinstance(expr, Call):
        return f"{expr.func}({', '.join(format_expr(a) for a in expr.args)})"
    if isinstance(expr, Aggregate):
        grouping = ""
        if expr.grouping or expr.without:
            keyword = "without" if expr.without else "by"
            grouping = f" {keyword} ({', '.join(expr.grouping)})"
        return f"{expr.op}{grouping} ({format_expr(expr.expr)})"
    if isinstance(expr, Unary):
        return f"-{_operand(expr.expr, UNARY_PRECEDENCE, right=True)}"
    if isinstance(expr, Paren):
        return f"({format_expr(expr.expr)})"
    if isinstance(expr, Binary):
        return _format_binary(expr)
    raise TypeError(f"not an expression node: {expr!r}")


def _format_binary(expr: Binary) -> str:
    prec = PRECEDENCE[expr.op]
    right_assoc = expr.op == "^"
    lhs = _operand(expr.lhs, prec, right=right_assoc)
    rhs = _operand(expr.rhs, prec, right=not right_assoc)
    modifiers = " bool" if expr.return_bool else ""
    if expr.matching is not None:
        keyword = "on" if expr.matching.on else "ignoring"
        modifiers += f" {keyword} ({', '.join(expr.matching.labels)})"
    return f"{lhs} {expr.op}{modifiers} {rhs}"


def _operand(expr: Expr, parent: int, *, right: bool) -> str:
    """Print a child, parenthesised when it binds looser than its parent needs."""
    text = format_expr(expr)
    if isinstance(expr, Binary):
        child = PRECEDENCE[expr.op]
        if child < parent or (child == parent and right):
            return f"({text})"
    if isinstance(expr, Unary) and parent > UNARY_PRECEDENCE:
        return f"({text})"
    return text


def _format_selector(sel: VectorSelector, *, with_offset: bool = True) -> str:
    name = ""
    rest = []
    for m in sel.matchers:
        if m.name == METRIC_NAME_LABEL and m.op == "=" and not name and _is_plain_name(m.value):
            name = m.value
        else:
            rest.append(f"{m.name}{m.op.value}{_quote(m.value)}")
    text = name + ("{" + ", ".join(rest) + "}" if rest or not name else "")
    if with_offset and sel.offset_ms:
        text += f" offset {format_duration_ms(sel.offset_ms)}"
    return text


def _is_plain_name(value: str) -> bool:
    return METRIC_NAME.fullmatch(value) is not None and value.lower() not in RESERVED
