"""Durations as Prometheus writes them (`1h30m`, `500ms`, `5m`, `1d`, `1w`, `1y`): parse and format.

Hand-written because the syntax is Prometheus's own (model.ParseDuration / Duration.String)
and no maintained Python library follows it: units from the largest down, each at most once,
whole numbers only; `0` alone is zero. Every part of opsloop that reads a duration from
config, a form, a query parameter or an expression goes through here, so they all agree.
"""

from __future__ import annotations

import math
import re

_UNITS_MS: tuple[tuple[str, int], ...] = (
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
)
_STRICT = re.compile("".join(rf"(?:(\d+){unit})?" for unit, _ in _UNITS_MS))
# Unit runs in any order: recognised only to say why such a text is refused.
_ANY_ORDER = re.compile(r"(?:\d+(?:ms|[smhdwy]))+")
_BARE_SECONDS = re.compile(r"\d+(?:\.\d+)?")
_EXAMPLES = "write it like 30s, 5m, 1h30m"


def parse_duration_ms(value: object, *, bare_seconds: bool = False) -> int:
    """Whole milliseconds of a duration; ValueError naming the problem when it is not one.

    With `bare_seconds`, a number (or a text of digits) counts as seconds, as config files
    that predate the unit syntax write them.
    """
    if bare_seconds and _is_number(value):
        return round(_bare_seconds(value) * 1000)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration ({_EXAMPLES})")
    text = value.strip()
    if bare_seconds and _BARE_SECONDS.fullmatch(text):
        return round(float(text) * 1000)
    if text == "0":
        return 0
    match = _STRICT.fullmatch(text)
    if not text or match is None:
        if _ANY_ORDER.fullmatch(text):
            raise ValueError(
                f"{value!r} is not a duration: units must be in decreasing order, "
                "each at most once (like 1h30m)"
            )
        raise ValueError(f"{value!r} is not a duration ({_EXAMPLES})")
    return sum(
        int(part) * size for part, (_, size) in zip(match.groups(), _UNITS_MS, strict=True) if part
    )


def parse_duration_s(value: object, *, bare_seconds: bool = False) -> float:
    """Seconds of a duration (see parse_duration_ms); bare numbers keep their fractions."""
    if bare_seconds and _is_number(value):
        return _bare_seconds(value)
    return parse_duration_ms(value, bare_seconds=bare_seconds) / 1000


def format_duration_ms(ms: int) -> str:
    """The Prometheus spelling of whole milliseconds: 300000 -> `5m`, 5400000 -> `1h30m`.

    A negative span (a PromQL `offset -5m`) gets a leading minus.
    """
    if ms == 0:
        return "0s"
    if ms < 0:
        return "-" + format_duration_ms(-ms)
    parts = []
    for unit, size in _UNITS_MS:
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(parts)


def format_duration_s(seconds: float) -> str:
    """The Prometheus spelling of seconds, rounded to the millisecond (`1h30m`, `0s`)."""
    return format_duration_ms(round(seconds * 1000))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bare_seconds(value: object) -> float:
    assert isinstance(value, int | float)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{value!r} is not a duration: seconds must be a finite number >= 0")
    return float(value)
