"""Pieces both exposition formats share: values, escapes, names and the careful label reader.

The careful reader handles everything the fast line regexes of each format leave out:
escapes, whitespace inside braces, quoted UTF-8 names, and it says why a line is wrong.
"""

from __future__ import annotations

import math
import re

from collector.errors import ParseError

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ESCAPES = {"\\\\": "\\", "\\n": "\n", '\\"': '"'}
_ESCAPED = re.compile(r'\\[\\n"]')
_HELP_TEXT_ESCAPED = re.compile(r"\\[\\n]")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:")


def unescape(text: str) -> str:
    """Label values (both formats) and OpenMetrics HELP: \\\\, \\n and \\" ; others stay."""
    if "\\" not in text:
        return text
    return _ESCAPED.sub(lambda m: _ESCAPES[m.group(0)], text)


def unescape_text_help(text: str) -> str:
    """HELP of the text format 0.0.4 knows only \\\\ and \\n."""
    if "\\" not in text:
        return text
    return _HELP_TEXT_ESCAPED.sub(lambda m: _ESCAPES[m.group(0)], text)


def parse_value(token: str, line: int) -> float:
    """A sample value: Go ParseFloat syntax (NaN, +Inf, -Inf, 1e3); no Python-only forms."""
    try:
        value = float(token)
    except ValueError:
        raise ParseError(line, f"invalid value {token!r}") from None
    if "_" in token:  # Python-only digit grouping; Go's ParseFloat refuses it
        raise ParseError(line, f"invalid value {token!r}")
    return value


def parse_int_timestamp(token: str, line: int) -> int:
    """Text format: an integer of milliseconds."""
    try:
        return int(token)
    except ValueError:
        raise ParseError(line, f"invalid timestamp {token!r} (want integer milliseconds)") from None


def parse_seconds_timestamp(token: str, line: int) -> int:
    """OpenMetrics: seconds, possibly fractional; stored as Prometheus does, int64(ts*1000)."""
    ts = parse_value(token, line)
    if math.isnan(ts) or math.isinf(ts):
        raise ParseError(line, f"invalid timestamp {token!r}")
    return int(ts * 1000)


def read_quoted(text: str, pos: int, line: int) -> tuple[str, int]:
    """The string starting at the quote text[pos], unescaped, and the index after its end."""
    i = pos + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return unescape(text[pos + 1 : i]), i + 1
        i += 1
    raise ParseError(line, "unterminated quoted string")


def _skip_ws(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in " \t":
        pos += 1
    return pos


def _read_name(text: str, pos: int) -> tuple[str, int]:
    end = pos
    n = len(text)
    while end < n and text[end] in _NAME_CHARS:
        end += 1
    return text[pos:end], end


def read_series(text: str, line: int) -> tuple[str, dict[str, str], int]:
    """Metric name, labels and the index after them, from the start of a sample line."""
    if text.startswith('"'):
        name, pos = read_quoted(text, 0, line)
    else:
        name, pos = _read_name(text, 0)
        if name and METRIC_NAME.fullmatch(name) is None:
            raise ParseError(line, f"invalid metric name {name!r}")
    labels: dict[str, str] = {}
    if pos < len(text) and text[pos] == "{":
        name_in_braces, pos = _read_label_block(text, pos + 1, line, labels)
        if name_in_braces is not None:
            if name:
                raise ParseError(line, "metric name given twice")
            name = name_in_braces
    if not name:
        raise ParseError(line, "missing metric name")
    return name, labels, pos


def _read_label_block(
    text: str, pos: int, line: int, labels: dict[str, str]
) -> tuple[str | None, int]:
    quoted_name: str | None = None
    first = True
    while True:
        pos = _skip_ws(text, pos)
        if pos >= len(text):
            raise ParseError(line, "label set is not closed with }")
        if text[pos] == "}":
            return quoted_name, pos + 1
        if text[pos] == '"':
            key, pos = read_quoted(text, pos, line)
            pos = _skip_ws(text, pos)
            if pos < len(text) and text[pos] in ",}" and first and quoted_name is None:
                quoted_name = key
                pos = _after_term(text, pos, line)
                first = False
                continue
        else:
            key, pos = _read_name(text, pos)
            if not key or LABEL_NAME.fullmatch(key) is None:
                raise ParseError(line, f"invalid label name at column {pos + 1}")
            pos = _skip_ws(text, pos)
        if pos >= len(text) or text[pos] != "=":
            raise ParseError(line, f"expected = after label name {key!r}")
        pos = _skip_ws(text, pos + 1)
        if pos >= len(text) or text[pos] != '"':
            raise ParseError(line, f"label {key!r}: value must be a quoted string")
        value, pos = read_quoted(text, pos, line)
        if key in labels:
            raise ParseError(line, f"duplicate label name {key!r}")
        labels[key] = value
        pos = _after_term(text, pos, line)
        first = False


def _after_term(text: str, pos: int, line: int) -> int:
    pos = _skip_ws(text, pos)
    if pos < len(text) and text[pos] == ",":
        return pos + 1
    if pos < len(text) and text[pos] == "}":
        return pos
    raise ParseError(line, f"expected , or }} at column {pos + 1}")


def read_meta_name(text: str, line: int) -> tuple[str, str]:
    """The metric name at the start of a # HELP/# TYPE/# UNIT rest, and what follows it."""
    if text.startswith('"'):
        name, pos = read_quoted(text, 0, line)
    else:
        name, pos = _read_name(text, 0)
        if not name or METRIC_NAME.fullmatch(name) is None:
            raise ParseError(line, f"invalid metric name in metadata: {text.split(' ')[0]!r}")
    if pos < len(text) and text[pos] not in " \t":
        raise ParseError(line, "metadata name must be followed by a space")
    return name, text[pos:].lstrip(" \t") if pos < len(text) else ""
