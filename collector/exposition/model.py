"""What the exposition parsers return: flat samples plus the metadata of each family."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

# Suffixes a sample name may add to its family name, by family type (OpenMetrics 1.0 and the
# text format; counters of the text format usually carry _total in the family name itself).
SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "summary": ("_count", "_sum", "_created"),
    "info": ("_info",),
}


class Exemplar(NamedTuple):
    labels: dict[str, str]
    value: float
    timestamp_ms: int | None = None


class Sample(NamedTuple):
    """One sample: the labels never include __name__; timestamp_ms is None when absent."""

    name: str
    labels: dict[str, str]
    value: float
    timestamp_ms: int | None = None
    exemplar: Exemplar | None = None


@dataclass
class Family:
    """Metadata of a metric family (# TYPE, # HELP, # UNIT lines), with or without samples."""

    name: str
    type: str = "unknown"
    help: str | None = None
    unit: str | None = None


@dataclass
class Exposition:
    """A parsed exposition: samples in input order, families in order of first mention.

    `keys[i]` is the text that named sample i's series in the input (name and label block);
    a scraper uses it to recognise a series it already knows without rebuilding it.
    """

    samples: list[Sample] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def kinds(self) -> dict[str, str]:
        """Metric type of each sample name (e.g. foo_bucket -> histogram)."""
        by_name = {f.name: f.type for f in self.families}
        found: dict[str, str] = {}
        for sample in self.samples:
            name = sample.name
            if name in found:
                continue
            kind = by_name.get(name)
            if kind is None:
                for family, ftype in _parents(name, by_name):
                    kind = ftype if family else None
                    break
            found[name] = kind or "unknown"
        return found


def _parents(name: str, by_name: dict[str, str]) -> list[tuple[str, str]]:
    for ftype, suffixes in SUFFIXES.items():
        for suffix in suffixes:
            if name.endswith(suffix):
                base = name[: -len(suffix)]
                if by_name.get(base) == ftype:
                    return [(base, ftype)]
    return []
