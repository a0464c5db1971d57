"""Parser of the Prometheus text format 0.0.4 (and 1.0.0's quoted UTF-8 names).

Hand-written for speed rather than using prometheus_client's parser (the reference, and
the peer of bench/parse.py): that one walks each line character by character in Python and
builds Metric objects; a scraper needs flat samples. Here a single compiled regex takes
every common line (no escapes, no spaces inside braces) at C speed, and every other line
goes to the careful reader in tokens.py, which also names the line and the reason of an
error. Samples with the same label block share one labels dict: treat labels as read-only.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from itertools import compress, repeat
from operator import eq, not_
from typing import TypeVar

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
_UNPARSED: dict[str, str] = {}
_MISSING = object()
T = TypeVar("T")
TEXT_TYPES = {
    "counter": "counter",
    "gauge": "gauge",
    "histogram": "histogram",
    "summary": "summary",
    "untyped": "unknown",
}


def parse_text(body: str, known: Container[str] = ()) -> Exposition:
    """Parse a text-format exposition; raise ParseError naming the line and the reason.

    `known`: series keys (see Exposition.keys) the caller already resolved, as a scraper's
    cache; their samples carry an empty labels dict instead of parsed labels.
    """
    if known:
        return _parse_with_known(body, known)
    out = Exposition()
    families: dict[str, Family] = {}
    pairs = PAIR.findall
    add_sample = out.samples.append
    add_key = out.keys.append
    new_tuple = tuple.__new__  # builds the NamedTuple without its Python-level __new__
    blocks: dict[str, dict[str, str]] = {}
    # The steps of _row_sample, inlined: this loop is the parser's hot path.
    for lineno, row in enumerate(_rows(body), 1):
        if isinstance(row, str):
            sample, key = _careful_line(row, lineno, families)
            if sample is not None:
                add_sample(sample)
                add_key(key)
            continue
        keyword, _, _, comment, name, block, vtok, ttok = row
        if keyword or comment:
            _row_sample(row, lineno, families, blocks)
            continue
        if block:
            labels = blocks.get(block)  # the same label set often follows many names
            if labels is None:
                found = pairs(block)
                labels = blocks[block] = dict(found)
                if len(labels) != len(found):
                    raise ParseError(lineno, f"duplicate label name in {{{block}}}")
            add_key(f"{name}{{{block}}}")
        else:
            labels = {}
            add_key(name)
        try:
            value = float(vtok)
        except ValueError:
            raise ParseError(lineno, f"invalid value {vtok!r}") from None
        if "_" in vtok:
            raise ParseError(lineno, f"invalid value {vtok!r}")
        ts = parse_int_timestamp(ttok, lineno) if ttok else None
        add_sample(new_tuple(Sample, (name, labels, value, ts, None)))
    out.families = list(families.values())
    return out


def split_known(body: str, known: Mapping[str, T]) -> tuple[list[T], list[float]] | None:
    """The scraper's steady state: (known[series], value) of every sample, or None.

    When every sample line is `<series> <value>` with its series text in `known` (one space:
    no timestamp, no space inside the braces) and every comment is plainly valid, the body
    needs no parsing beyond splits, dictionary lookups and float() over whole lists, all
    at C speed (Prometheus's scrape cache skips the label parsing the same way). None
    means some line needs the parser: an unknown series, another shape, a bad value or
    metadata line; parse_text then reads the body and names the line of any error.
    """
    lines = body.split("\n")
    if lines[-1] == "":
        lines.pop()
    is_comment = list(map(str.startswith, lines, repeat("#")))
    if not all(map(_plain_comment, compress(lines, is_comment))):
        return None
    samples = list(compress(lines, map(not_, is_comment)))
    if not samples or not all(map(eq, map(str.count, samples, repeat(" ")), repeat(1))):
        return None
    tokens = " ".join(samples).split(" ")
    value_tokens = tokens[1::2]
    if "_" in " ".join(value_tokens):  # Python-only digit grouping; Go's ParseFloat refuses it
        return None
    ids = list(map(known.get, tokens[0::2], repeat(_MISSING)))
    if _MISSING in ids:
        return None
    try:
        values = list(map(float, value_tokens))
    except ValueError:
        return None
    return ids, values  # type: ignore[return-value]  # _MISSING was ruled out above


def _plain_comment(line: str) -> bool:
    """A comment parse_text would accept as it is: an ordinary one, HELP, or a known TYPE."""
    keyword = line[1:].lstrip(" \t").partition(" ")[0]
    if keyword not in ("HELP", "TYPE"):
        return True
    m = FAST_META.fullmatch(line)
    return m is not None and (m.group(1) == "HELP" or (m.group(3) or "").strip() in TEXT_TYPES)


def _parse_with_known(body: str, known: Container[str]) -> Exposition:
    """The scraper's path: a line whose series text is known needs no regex at all, only a
    split at its last space(s) -- Prometheus's scrape cache does the same."""
    out = Exposition()
    families: dict[str, Family] = {}
    blocks: dict[str, dict[str, str]] = {}
    add_sample = out.samples.append
    add_key = out.keys.append
    new_tuple = tuple.__new__
    fullmatch = FAST_LINE.fullmatch
    for lineno, line in enumerate(body.split("\n"), 1):
        if line and line[0] != "#":
            head, _, vtok = line.rpartition(" ")
            ttok = ""
            if head not in known:
                head, _, ttok = head.rpartition(" ")
                head, vtok, ttok = head, ttok, vtok
            if head in known and vtok and "_" not in vtok:
                try:
                    value = float(vtok)
                    ts = int(ttok) if ttok else None
                except ValueError:
                    pass  # let the regular path name the problem
                else:
                    name = head.partition("{")[0]
                    add_sample(new_tuple(Sample, (name, _UNPARSED, value, ts, None)))
                    add_key(head)
                    continue
        m = fullmatch(line)
        if m is None:
            sample, key = _careful_line(line, lineno, families)
        else:
            sample, key = _row_sample(m.groups(""), lineno, families, blocks)
        if sample is not None:
            add_sample(sample)
            add_key(key)
    out.families = list(families.values())
    return out


def _row_sample(
    row: tuple[str, ...],
    lineno: int,
    families: dict[str, Family],
    blocks: dict[str, dict[str, str]],
) -> tuple[Sample | None, str]:
    """The sample of one line the fast regex took (None for a metadata line), and its key."""
    keyword, meta_name, meta_rest, comment, name, block, vtok, ttok = row
    if keyword:
        family = families.get(meta_name)
        if family is None:
            family = families[meta_name] = Family(meta_name)
        if keyword == "HELP":
            family.help = unescape_text_help(meta_rest) if "\\" in meta_rest else meta_rest
        else:
            family.type = _text_type(meta_rest, meta_name, lineno)
        return None, ""
    if comment:
        _meta(comment, lineno, families)
        return None, ""
    if block:
        labels = blocks.get(block)  # the same label set often follows many names
        if labels is None:
            found = PAIR.findall(block)
            labels = blocks[block] = dict(found)
            if len(labels) != len(found):
                raise ParseError(lineno, f"duplicate label name in {{{block}}}")
        key = f"{name}{{{block}}}"
    else:
        labels, key = {}, name
    try:
        value = float(vtok)
    except ValueError:
        raise ParseError(lineno, f"invalid value {vtok!r}") from None
    if "_" in vtok:
        raise ParseError(lineno, f"invalid value {vtok!r}")
    ts = parse_int_timestamp(ttok, lineno) if ttok else None
    return tuple.__new__(Sample, (name, labels, value, ts, None)), key


def _rows(body: str) -> list[tuple[str, ...] | str]:
    """One entry per line: the fast regex's groups, or the line itself for the careful reader.

    When every line is a common one (one match per line), a single findall does it all.
    """
    rows: list[tuple[str, ...] | str] = FAST_LINE.findall(body)
    lines = body.count("\n") + (0 if body.endswith("\n") or not body else 1)
    if len(rows) == lines:
        return rows
    rows = []
    for line in body.split("\n"):
        m = FAST_LINE.fullmatch(line)
        rows.append(line if m is None else tuple(g or "" for g in m.groups()))
    return rows


def _text_type(raw: str, name: str, lineno: int) -> str:
    kind = TEXT_TYPES.get(raw.strip())
    if kind is None:
        raise ParseError(lineno, f"unknown metric type {raw!r} for {name}")
    return kind


def _careful_line(line: str, lineno: int, families: dict[str, Family]) -> tuple[Sample | None, str]:
    text = line.strip(" \t\r")
    if not text:
        return None, ""
    if text[0] == "#":
        _meta(text, lineno, families)
        return None, ""
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
