"""Parser of the Prometheus text format 0.0.4 (and 1.0.0's quoted UTF-8 names).

Hand-written for speed rather than using prometheus_client's parser (the reference, and
the peer of bench/parse.py): that one walks each line character by character in Python and
builds Metric objects; a scraper needs flat samples. Here a single compiled regex takes a
common line (no escapes, no spaces inside braces) at C speed, and every other line goes to
the careful reader in tokens.py, which also names the line and the reason of an error.
"""

from __future__ import annotations

import re

from collector.errors import ParseError
from collector.exposition.model import Exposition, Family, Sample
from collector.exposition.tokens import (
    parse_int_timestamp,
    parse_value,
    read_meta_name,
    read_series,
    unescape_text_help,
)

_PAIR_SRC = r'[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"'
# One common line: a comment, or a sample without escapes or spaces inside its braces.
# Lines it does not take (finditer skips them) go to the careful reader.
FAST_LINE = re.compile(
    r"^(?:# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: ([^\n]*))?|(#[^\n]*)"
    r"|([a-zA-Z_:][a-zA-Z0-9_:]*)"
    rf"(?:\{{((?:{_PAIR_SRC}(?:,{_PAIR_SRC})*,?)?)\}})?"
    r"[ \t]+([^ \t\n]+)(?:[ \t]+([^ \t\n]+))?[ \t]*)(?:\n|\Z)",
    re.MULTILINE,
)
FAST_META = re.compile(r"# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?")
PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"\\]*)"')
TEXT_TYPES = {
    "counter": "counter",
    "gauge": "gauge",
    "histogram": "histogram",
    "summary": "summary",
    "untyped": "unknown",
}


def parse_text(body: str) -> Exposition:
    """Parse a text-format exposition; raise ParseError naming the line and the reason."""
    out = Exposition()
    families: dict[str, Family] = {}
    pairs = PAIR.findall
    add_sample = out.samples.append
    add_key = out.keys.append
    new_tuple = tuple.__new__  # builds the NamedTuple without its Python-level __new__
    pos = 0
    for m in FAST_LINE.finditer(body):
        if m.start() != pos:
            _careful_span(body, pos, m.start(), out, families)
        pos = m.end()
        keyword, meta_name, meta_rest, comment, name, block, vtok, ttok = m.groups()
        if keyword is not None:
            family = families.get(meta_name)
            if family is None:
                family = families[meta_name] = Family(meta_name)
            if keyword == "HELP":
                family.help = unescape_text_help(meta_rest or "")
            elif (kind := TEXT_TYPES.get((meta_rest or "").strip())) is not None:
                family.type = kind
            else:
                raise ParseError(
                    _line_of(body, m.start()), f"unknown metric type {meta_rest!r} for {meta_name}"
                )
            continue
        if comment is not None:
            try:
                _meta(comment, 0, families)
            except ParseError as exc:  # the line number is counted only when needed
                raise ParseError(_line_of(body, m.start()), exc.reason) from None
            continue
        if block:
            found = pairs(block)
            labels = dict(found)
            if len(labels) != len(found):
                raise ParseError(_line_of(body, m.start()), f"duplicate label name in {{{block}}}")
            add_key(body[m.start() : m.end(6) + 1])
        else:
            labels = {}
            add_key(name if block is None else name + "{}")
        try:
            value = float(vtok)
        except ValueError:
            raise ParseError(_line_of(body, m.start()), f"invalid value {vtok!r}") from None
        if "_" in vtok:
            raise ParseError(_line_of(body, m.start()), f"invalid value {vtok!r}")
        ts = None if ttok is None else parse_int_timestamp(ttok, _line_of(body, m.start()))
        add_sample(new_tuple(Sample, (name, labels, value, ts, None)))
    if pos != len(body):
        _careful_span(body, pos, len(body), out, families)
    out.families = list(families.values())
    return out


def _line_of(body: str, offset: int) -> int:
    return body.count("\n", 0, offset) + 1


def _careful_span(
    body: str, start: int, end: int, out: Exposition, families: dict[str, Family]
) -> None:
    first = _line_of(body, start)
    for i, line in enumerate(body[start:end].split("\n")):
        if line.lstrip(" \t").startswith("#") and line.startswith("#"):
            _meta(line, first + i, families)
            continue
        sample, key = _careful_line(line, first + i)
        if sample is not None:
            out.samples.append(sample)
            out.keys.append(key)


def _careful_line(line: str, lineno: int) -> tuple[Sample | None, str]:
    text = line.strip(" \t\r")
    if not text:
        return None, ""
    if text[0] == "#":
        raise ParseError(lineno, "a comment must start at the beginning of the line")
    name, labels, pos = read_series(text, lineno)
    rest = text[pos:]
    if rest and rest[0] not in " \t":
        raise ParseError(lineno, f"unexpected {rest[0]!r} after the series")
    tokens = rest.split()
    if not tokens:
        raise ParseError(lineno, "missing value")
    if len(tokens) > 2:
        raise ParseError(lineno, f"unexpected text after the timestamp: {tokens[2]!r}")
    value = parse_value(tokens[0], lineno)
    ts = parse_int_timestamp(tokens[1], lineno) if len(tokens) == 2 else None
    key = text[:pos]
    return Sample(name, labels, value, ts), key


def _meta(line: str, lineno: int, families: dict[str, Family]) -> None:
    m = FAST_META.fullmatch(line)
    if m is not None:
        keyword, name, rest = m.group(1), m.group(2), m.group(3) or ""
    else:
        keyword, name, rest = _careful_meta(line, lineno)
        if not keyword:
            return  # an ordinary comment
    family = families.get(name)
    if family is None:
        family = families[name] = Family(name)
    if keyword == "HELP":
        family.help = unescape_text_help(rest)
        return
    kind = TEXT_TYPES.get(rest.strip())
    if kind is None:
        raise ParseError(lineno, f"unknown metric type {rest.strip()!r} for {name}")
    family.type = kind


def _careful_meta(line: str, lineno: int) -> tuple[str, str, str]:
    rest = line[1:].lstrip(" \t")
    keyword, _, rest = rest.partition(" ")
    if keyword not in {"HELP", "TYPE"}:
        return "", "", ""
    name, rest = read_meta_name(rest.lstrip(" \t"), lineno)
    return keyword, name, rest
