"""Plain data shared by storage and queries: label matchers, series, instant samples."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Protocol

METRIC_NAME_LABEL = "__name__"


class MatchOp(StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@lru_cache(maxsize=1024)
def _anchored(pattern: str) -> re.Pattern[str]:
    # Prometheus anchors label regexes at both ends; callers use fullmatch, since Python's
    # "$" would also match before a trailing newline.
    return re.compile(f"(?:{pattern})", re.DOTALL)


@dataclass(frozen=True)
class Matcher:
    """One label matcher; a missing label matches as the empty string (Prometheus semantics)."""

    name: str
    op: MatchOp
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op is MatchOp.EQUAL:
            return actual == self.value
        if self.op is MatchOp.NOT_EQUAL:
            return actual != self.value
        found = _anchored(self.value).fullmatch(actual) is not None
        return found if self.op is MatchOp.REGEX else not found


def matches_all(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


@dataclass
class SeriesData:
    """A series (labels include __name__) and its samples in time order."""

    labels: dict[str, str]
    timestamps_ms: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class InstantSample:
    """One element of an instant vector: labels (with __name__ unless dropped) and a value."""

    labels: Mapping[str, str]
    value: float
    timestamp_ms: int


class SeriesSource(Protocol):
    """Where queries read samples from: the database, or a list in tests."""

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        """Series matching every matcher, with their samples in [start_ms, end_ms]."""
        ...


class MemorySource:
    """A SeriesSource over series held in memory (tests, the demo, previews)."""

    def __init__(self, series: Sequence[SeriesData]) -> None:
        self._series = list(series)

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        found = []
        for s in self._series:
            if not matches_all(matchers, s.labels):
                continue
            pairs = [
                (t, v)
                for t, v in zip(s.timestamps_ms, s.values, strict=True)
                if start_ms <= t <= end_ms
            ]
            if pairs:
                found.append(
                    SeriesData(dict(s.labels), [t for t, _ in pairs], [v for _, v in pairs])
                )
        return found
