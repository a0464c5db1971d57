"""Tokens of the expression language: names, numbers, durations, strings, operators."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from collector.promql.errors import ExpressionError
from collector.promql.nodes import KEYWORDS
from core.durations import parse_duration_ms


class Kind(StrEnum):
    IDENT = "identifier"
    KEYWORD = "keyword"
    NUMBER = "number"
    DURATION = "duration"
    STRING = "string"
    OP = "operator"
    PUNCT = "punctuation"
    EOF = "end of input"


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str
    pos: int
    value: float | int | str | None = None


_DURATION = re.compile(r"(?:\d+(?:ms|[smhdwy]))+(?![a-zA-Z0-9_:])")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_OPERATORS = ("==", "!=", "=~", "!~", "<=", ">=", "<", ">", "=", "+", "-", "*", "/", "%", "^")
_PUNCT = "(){}[],"
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_ESCAPES |= {"\\": "\\", '"': '"', "'": "'"}


def tokenize(text: str) -> list[Token]:
    """The tokens of `text`, ending with an EOF token; ExpressionError on a bad character."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        if char == "#":  # a comment runs to the end of the line, as in PromQL
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
            continue
        token = _next_token(text, pos)
        tokens.append(token)
        pos += len(token.text)
    tokens.append(Token(Kind.EOF, "", len(text)))
    return tokens


def _next_token(text: str, pos: int) -> Token:
    char = text[pos]
    if char.isdigit() or (char == "." and text[pos + 1 : pos + 2].isdigit()):
        duration = _DURATION.match(text, pos)
        if duration:
            try:
                value_ms = parse_duration_ms(duration.group())
            except ValueError as exc:
                raise ExpressionError(pos, str(exc)) from exc
            return Token(Kind.DURATION, duration.group(), pos, value_ms)
        number = _NUMBER.match(text, pos)
        assert number is not None
        raw = number.group()
        value = float(int(raw, 16)) if raw[:2].lower() == "0x" else float(raw)
        return Token(Kind.NUMBER, raw, pos, value)
    ident = _IDENT.match(text, pos)
    if ident:
        word = ident.group()
        if word.lower() in ("inf", "nan"):
            return Token(Kind.NUMBER, word, pos, math.inf if word.lower() == "inf" else math.nan)
        kind = Kind.KEYWORD if word.lower() in KEYWORDS else Kind.IDENT
        return Token(kind, word, pos, word.lower() if kind is Kind.KEYWORD else word)
    if char in "\"'`":
        return _string(text, pos)
    if char in _PUNCT:
        return Token(Kind.PUNCT, char, pos)
    for op in _OPERATORS:
        if text.startswith(op, pos):
            return Token(Kind.OP, op, pos)
    raise ExpressionError(pos, f"unexpected character {char!r}")


def _string(text: str, start: int) -> Token:
    quote = text[start]
    pos = start + 1
    out: list[str] = []
    while pos < len(text):
        char = text[pos]
        if char == quote:
            return Token(Kind.STRING, text[start : pos + 1], start, "".join(out))
        if char == "\n" and quote != "`":
            break
        if char == "\\" and quote != "`":
            decoded, pos = _escape(text, pos)
            out.append(decoded)
            continue
        out.append(char)
        pos += 1
    raise ExpressionError(start, "unterminated quoted string")


def _escape(text: str, pos: int) -> tuple[str, int]:
    """Decode the Go-style escape at text[pos] (a backslash); return it and the next index."""
    code = text[pos + 1 : pos + 2]
    if code in _ESCAPES:
        return _ESCAPES[code], pos + 2
    widths = {"x": 2, "u": 4, "U": 8}
    if code in widths:
        digits = text[pos + 2 : pos + 2 + widths[code]]
        if len(digits) == widths[code] and all(c in "0123456789abcdefABCDEF" for c in digits):
            return chr(int(digits, 16)), pos + 2 + widths[code]
    raise ExpressionError(pos, f"unknown escape sequence \\{code}")
