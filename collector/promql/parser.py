"""Text to syntax tree: a precedence-climbing parser with PromQL's grammar and type checks."""

from __future__ import annotations

from collector.promql.errors import ExpressionError
from collector.promql.functions import FUNCTIONS
from collector.promql.lexer import Kind, Token, tokenize
from collector.promql.nodes import (
    AGGREGATIONS,
    COMPARISONS,
    PRECEDENCE,
    SET_OPERATORS,
    UNARY_PRECEDENCE,
    Aggregate,
    Binary,
    Call,
    Expr,
    MatrixSelector,
    NumberLiteral,
    Paren,
    Unary,
    ValueType,
    VectorMatching,
    VectorSelector,
)
from collector.series import METRIC_NAME_LABEL, Matcher, MatchOp

MAX_EXPRESSION_CHARS = 10_000


def parse_expr(text: str) -> Expr:
    """Parse one expression; ExpressionError (with the character position) when invalid."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(MAX_EXPRESSION_CHARS, "expression too long")
    parser = _Parser(tokenize(text))
    if parser.peek().kind is Kind.EOF:
        raise ExpressionError(0, "no expression found in input")
    expr = parser.expression(0)
    tail = parser.peek()
    if tail.kind is not Kind.EOF:
        raise ExpressionError(tail.pos, f"unexpected {_describe(tail)}")
    return expr


def _describe(token: Token) -> str:
    return str(token.kind) if token.kind is Kind.EOF else f"{token.kind} {token.text!r}"


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def expect(self, text: str, what: str) -> Token:
        token = self.take()
        if token.text != text or token.kind in (Kind.STRING, Kind.EOF):
            raise ExpressionError(token.pos, f"unexpected {_describe(token)}, expected {what}")
        return token

    def at(self, *words: str) -> bool:
        """Is the next token one of these keywords, operators or punctuation marks?"""
        token = self.peek()
        if token.kind is Kind.KEYWORD:
            return token.value in words
        return token.kind in (Kind.OP, Kind.PUNCT) and token.text in words

    # ------------------------------------------------------------ binary operators

    def expression(self, min_prec: int) -> Expr:
        lhs = self.unary()
        while True:
            token = self.peek()
            op = _binary_operator(token)
            if op is None or PRECEDENCE[op] < min_prec:
                return lhs
            self.take()
            return_bool, matching = self.modifiers(op)
            # ^ is right-associative; every other operator is left-associative.
            next_min = PRECEDENCE[op] if op == "^" else PRECEDENCE[op] + 1
            rhs = self.expression(next_min)
            lhs = _check_binary(token.pos, op, lhs, rhs, return_bool, matching)

    def unary(self) -> Expr:
        token = self.peek()
        if token.kind is Kind.OP and token.text in ("-", "+"):
            self.take()
            operand = self.expression(UNARY_PRECEDENCE + 1)
            if operand.type is ValueType.MATRIX:
                raise ExpressionError(
                    token.pos, "unary expression only allowed on scalars and vectors"
                )
            if token.text == "+":
                return operand
            if isinstance(operand, NumberLiteral):
                return NumberLiteral(-operand.value)
            return Unary(operand)
        return self.postfix(self.primary())

    def modifiers(self, op: str) -> tuple[bool, VectorMatching | None]:
        return_bool = False
        if self.at("bool"):
            token = self.take()
            if op not in COMPARISONS:
                raise ExpressionError(
                    token.pos, "bool modifier can only be used on comparison operators"
                )
            return_bool = True
        matching = None
        if self.at("on", "ignoring"):
            keyword = self.take()
            matching = VectorMatching(keyword.value == "on", self.label_list())
            if self.at("group_left", "group_right"):
                raise ExpressionError(self.peek().pos, "group_left/group_right are not supported")
        return return_bool, matching

    # ------------------------------------------------------------ operands

    def primary(self) -> Expr:
        token = self.peek()
        if token.kind is Kind.NUMBER:
            self.take()
            return NumberLiteral(float(token.value))  # type: ignore[arg-type]
        if token.kind is Kind.PUNCT and token.text == "(":
            self.take()
            inner = self.expression(0)
            self.expect(")", "')'")
            return Paren(inner)
        if token.kind is Kind.PUNCT and token.text == "{":
            return self.selector(None, token.pos)
        if token.kind is Kind.IDENT:
            self.take()
            name = str(token.value)
            if name in AGGREGATIONS and (self.at("(", "by", "without")):
                return self.aggregate(name, token.pos)
            if self.at("("):
                return self.call(name, token.pos)
            return self.selector(name, token.pos)
        raise ExpressionError(token.pos, f"unexpected {_describe(token)}")

    def postfix(self, expr: Expr) -> Expr:
        if self.at("["):
            bracket = self.take()
            if not isinstance(expr, VectorSelector) or expr.offset_ms:
                raise ExpressionError(
                    bracket.pos,
                    "ranges only allowed for vector selectors (subqueries are not supported)",
                )
            duration = self.take()
            if duration.kind is not Kind.DURATION or not duration.value:
                raise ExpressionError(duration.pos, "expected a duration such as 5m in the range")
            self.expect("]", "']'")
            expr = MatrixSelector(expr, int(duration.value))
        if self.at("offset"):
            keyword = self.take()
            negative = self.peek().text == "-" and self.take() is not None
            duration = self.take()
            if duration.kind is not Kind.DURATION:
                raise ExpressionError(duration.pos, "expected a duration after offset")
            offset_ms = -int(duration.value) if negative else int(duration.value)  # type: ignore[arg-type]
            if isinstance(expr, VectorSelector) and not expr.offset_ms:
                expr = VectorSelector(expr.matchers, offset_ms)
            elif isinstance(expr, MatrixSelector) and not expr.vector.offset_ms:
                expr = MatrixSelector(
                    VectorSelector(expr.vector.matchers, offset_ms), expr.range_ms
                )
            else:
                raise ExpressionError(keyword.pos, "offset modifier must be preceded by a selector")
        return expr

    def selector(self, name: str | None, pos: int) -> VectorSelector:
        matchers: list[Matcher] = []
        if name is not None:
            matchers.append(Matcher(METRIC_NAME_LABEL, MatchOp.EQUAL, name))
        if self.at("{"):
            self.take()
            while not (self.at("}")):
                matcher = self.matcher()
                if name is not None and matcher.name == METRIC_NAME_LABEL:
                    raise ExpressionError(pos, f"metric name must not be set twice: {name!r}")
                matchers.append(matcher)
                if not (self.at(",")):
                    break
                self.take()
            self.expect("}", "'}' or ','")
        if not any(not m.matches({}) for m in matchers):
            raise ExpressionError(
                pos, "vector selector must contain at least one non-empty matcher"
            )
        return VectorSelector(tuple(matchers))

    def matcher(self) -> Matcher:
        label = self.take()
        if label.kind not in (Kind.IDENT, Kind.KEYWORD, Kind.STRING):
            raise ExpressionError(
                label.pos, f"unexpected {_describe(label)}, expected a label name"
            )
        op = self.take()
        if op.kind is not Kind.OP or op.text not in ("=", "!=", "=~", "!~"):
            raise ExpressionError(op.pos, f"unexpected {_describe(op)}, expected =, !=, =~ or !~")
        value = self.take()
        if value.kind is not Kind.STRING:
            raise ExpressionError(
                value.pos, f"unexpected {_describe(value)}, expected a quoted string"
            )
        name = label.text if label.kind is not Kind.STRING else str(label.value)
        matcher = Matcher(name, MatchOp(op.text), str(value.value))
        if matcher.op in (MatchOp.REGEX, MatchOp.NOT_REGEX):
            try:
                matcher.matches({})
            except Exception as exc:  # re.error: name the bad regex and where it is
                raise ExpressionError(value.pos, f"invalid regular expression: {exc}") from exc
        return matcher

    def label_list(self) -> tuple[str, ...]:
        self.expect("(", "'(' and a label list")
        labels: list[str] = []
        while not (self.at(")")):
            token = self.take()
            if token.kind not in (Kind.IDENT, Kind.KEYWORD):
                raise ExpressionError(token.pos, f"unexpected {_describe(token)} in label list")
            labels.append(token.text)
            if not (self.at(",")):
                break
            self.take()
        self.expect(")", "')' or ','")
        return tuple(labels)

    def aggregate(self, op: str, pos: int) -> Aggregate:
        grouping: tuple[str, ...] = ()
        without = False
        if self.at("by", "without"):
            without = self.take().value == "without"
            grouping = self.label_list()
        self.expect("(", f"'(' after {op}")
        inner_pos = self.peek().pos
        inner = self.expression(0)
        self.expect(")", "')'")
        if self.at("by", "without"):
            without = self.take().value == "without"
            grouping = self.label_list()
        if inner.type is not ValueType.VECTOR:
            raise ExpressionError(
                inner_pos,
                f"expected type instant vector in aggregation, got {_type_name(inner.type)}",
            )
        return Aggregate(op, inner, grouping, without)

    def call(self, name: str, pos: int) -> Call:
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise ExpressionError(pos, f"unknown function with name {name!r}")
        self.expect("(", "'('")
        args: list[tuple[int, Expr]] = []
        while not (self.at(")")):
            args.append((self.peek().pos, self.expression(0)))
            if not (self.at(",")):
                break
            self.take()
        close = self.expect(")", "')' or ','")
        if len(args) != len(spec.arg_types):
            raise ExpressionError(
                close.pos,
                f"expected {len(spec.arg_types)} argument(s) in call to {name!r}, got {len(args)}",
            )
        for (arg_pos, arg), wanted in zip(args, spec.arg_types, strict=True):
            if arg.type is not wanted:
                raise ExpressionError(
                    arg_pos,
                    f"expected type {_type_name(wanted)} in call to function {name!r}, "
                    f"got {_type_name(arg.type)}",
                )
        return Call(name, tuple(a for _, a in args), spec.result)


def _binary_operator(token: Token) -> str | None:
    if token.kind is Kind.OP and token.text in PRECEDENCE:
        return token.text
    if token.kind is Kind.KEYWORD and token.value in SET_OPERATORS:
        return str(token.value)
    return None


def _type_name(kind: ValueType) -> str:
    return {"scalar": "scalar", "vector": "instant vector", "matrix": "range vector"}[kind]


def _check_binary(
    pos: int, op: str, lhs: Expr, rhs: Expr, return_bool: bool, matching: VectorMatching | None
) -> Binary:
    if ValueType.MATRIX in (lhs.type, rhs.type):
        raise ExpressionError(
            pos, "binary expression must contain only scalar and instant vector types"
        )
    scalars = lhs.type is ValueType.SCALAR or rhs.type is ValueType.SCALAR
    if op in SET_OPERATORS and scalars:
        raise ExpressionError(pos, f"set operator {op!r} not allowed in binary scalar expression")
    both_scalar = lhs.type is ValueType.SCALAR and rhs.type is ValueType.SCALAR
    if op in COMPARISONS and both_scalar and not return_bool:
        raise ExpressionError(pos, "comparisons between scalars must use BOOL modifier")
    if matching is not None and scalars:
        raise ExpressionError(pos, "vector matching only allowed between instant vectors")
    return Binary(op, lhs, rhs, return_bool, matching)
