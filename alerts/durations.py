"""Durations as Prometheus and Alertmanager write them (`1h30m`, `5m`, `250ms`, `1d`)."""

from __future__ import annotations

import re

_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_UNITS_S = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
_FORMAT_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def parse_duration(text: object) -> float:
    """Seconds of a Prometheus duration; ValueError with the reason when it is not one."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a duration (write it like 30s, 5m, 1h30m)")
    raw = text.strip()
    match = _DURATION.match(raw)
    if not raw or match is None:
        raise ValueError(f"{text!r} is not a duration (write it like 30s, 5m, 1h30m)")
    if raw == "0":
        return 0.0
    return float(
        sum(int(part) * unit for part, unit in zip(match.groups(), _UNITS_S, strict=True) if part)
    )


def format_duration(seconds: float) -> str:
    """The shortest Prometheus spelling of whole seconds or milliseconds (`1h30m`, `0s`)."""
    if seconds <= 0:
        return "0s"
    millis = round(seconds * 1000)
    if millis % 1000:
        return f"{millis}ms"
    whole = millis // 1000
    parts = []
    for unit, size in _FORMAT_UNITS:
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts)
