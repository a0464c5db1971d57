"""The clock: the one place that reads wall time; deciding functions take `now` instead."""

from __future__ import annotations

import math
from datetime import UTC, datetime


def utcnow() -> datetime:
    """Current time as an aware UTC datetime."""
    return datetime.now(UTC)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    return int(moment.timestamp() * 1000)


def parse_time_ms(text: str) -> int:
    """Milliseconds since the epoch of a time as Prometheus's HTTP API takes it: Unix seconds
    (fractions allowed) or RFC 3339 with a zone; ValueError naming the problem otherwise."""
    raw = text.strip()
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds):
            return round(seconds * 1000)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is neither Unix seconds nor an RFC 3339 time") from None
    if moment.tzinfo is None:
        # Guessing the server's zone would shift the answer by hours without a word.
        raise ValueError(f"{text!r} has no time zone (give one, e.g. Z)")
    return to_ms(moment)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def as_utc(moment: datetime) -> datetime:
    """Treat a naive datetime (as SQLite returns them) as UTC; convert aware ones to UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
