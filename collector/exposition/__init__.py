"""Exposition parsers: one public entry point per format, and `parse` choosing by Content-Type.

- `parse_text(body)`: Prometheus text format 0.0.4 (and quoted UTF-8 names of 1.0.0)
- `parse_openmetrics(body)`: OpenMetrics 1.0
- `split_known(body, known)`: the scraper's shortcut for a text body of known series
- `parse(body, content_type)`: picks one as Prometheus does (OpenMetrics only when the
  server says `application/openmetrics-text`; anything else is read as the text format)
"""

from __future__ import annotations

from collections.abc import Container

from collector.errors import ParseError
from collector.exposition.model import Exemplar, Exposition, Family, Sample
from collector.exposition.openmetrics import parse_openmetrics
from collector.exposition.text import parse_text, split_known

OPENMETRICS_TYPE = "application/openmetrics-text"
TEXT_TYPE = "text/plain"

__all__ = [
    "Exemplar",
    "Exposition",
    "Family",
    "ParseError",
    "Sample",
    "format_of",
    "parse",
    "parse_openmetrics",
    "parse_text",
    "split_known",
]


def format_of(content_type: str | None) -> str:
    """ "openmetrics" or "text" for a response Content-Type; a protobuf answer is refused."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == OPENMETRICS_TYPE:
        return "openmetrics"
    if media == "application/vnd.google.protobuf":
        raise ParseError(0, "protobuf expositions are not supported (it was not asked for)")
    return "text"


def parse(body: str, content_type: str | None, known: Container[str] = ()) -> Exposition:
    """Parse a scraped body with the parser its Content-Type names (`known`: see parse_text)."""
    if format_of(content_type) == "openmetrics":
        return parse_openmetrics(body)
    return parse_text(body, known)
