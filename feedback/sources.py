"""Configured feedback sources (`feedback_sources:` in the config file): parsing and validation.

```yaml
feedback_sources:
  - name: forum                 # used in /hooks/discourse/forum and as the feedback's source
    type: discourse
    url: https://forum.example.com
    api_key: ...                # optional, with api_username
    api_username: system
    webhook_secret: ...         # required for the webhook endpoint
    categories: [bugs, ideas]   # optional filter: slugs or numeric ids
    poll_interval: 5m           # s, m, h or plain seconds; "off" = webhooks only
    max_pages: 10               # pages of 50 posts fetched per poll at most
    service: webshop            # optional: tag every post with this service
  - name: blog-comments
    type: feed
    url: https://example.com/comments.atom
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from core.config import RawConfig
from core.durations import parse_duration_s as parse_core_duration_s
from feedback.errors import FeedbackConfigError

SECTION = "feedback_sources"
DEFAULT_POLL_INTERVAL_S = 300.0
MIN_POLL_INTERVAL_S = 10.0
DEFAULT_MAX_PAGES = 10
# Source names the other intake paths use for themselves.
RESERVED_NAMES = frozenset({"form", "api", "demo", "csv", "survey"})
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_KEYS = {
    "name",
    "type",
    "url",
    "api_key",
    "api_username",
    "webhook_secret",
    "categories",
    "poll_interval",
    "max_pages",
    "service",
}


class SourceType(StrEnum):
    DISCOURSE = "discourse"
    FEED = "feed"


@dataclass(frozen=True)
class SourceConfig:
    name: str
    type: SourceType
    url: str
    api_key: str | None = None
    api_username: str | None = None
    webhook_secret: str | None = None
    categories: tuple[str, ...] = ()  # slugs or ids (as text)
    poll_interval_s: float | None = DEFAULT_POLL_INTERVAL_S  # None: never polled
    max_pages: int = DEFAULT_MAX_PAGES
    service: str | None = None
    origin: str = "config"  # "config" (the config file) or "settings" (added on the page)


def parse_duration_s(value: object) -> float:
    """Seconds from 30, "30s", "5m", "1h" or "1d"; FeedbackConfigError when it is not one."""
    try:
        return parse_core_duration_s(value, bare_seconds=True)
    except ValueError as exc:
        raise FeedbackConfigError(str(exc)) from None


def load_sources(raw_config: RawConfig) -> list[SourceConfig]:
    """Every configured source; FeedbackConfigError names the file, the entry and the problem."""
    where = f"{raw_config.path}: " if raw_config.path else ""
    entries = raw_config.section(SECTION) or []
    if not isinstance(entries, list):
        raise FeedbackConfigError(f"{where}{SECTION}: must be a list of sources")
    sources: list[SourceConfig] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        label = f"{where}{SECTION}[{position}]"
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            label += f" ({entry['name']})"
        try:
            source = parse_source(entry)
        except (FeedbackConfigError, ValueError) as exc:
            raise FeedbackConfigError(f"{label}: {exc}") from exc
        if source.name in seen:
            raise FeedbackConfigError(f"{label}: the name {source.name!r} is used twice")
        seen.add(source.name)
        sources.append(source)
    return sources


def parse_source(entry: object) -> SourceConfig:
    """One source from a mapping shaped like a config entry; FeedbackConfigError if bad."""
    if not isinstance(entry, Mapping):
        raise FeedbackConfigError("must be a mapping with name, type and url")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise FeedbackConfigError(f"unknown key(s): {', '.join(map(str, unknown))}")
    name = _required_text(entry, "name")
    if not _NAME.fullmatch(name) or name in RESERVED_NAMES:
        raise FeedbackConfigError(
            f"name {name!r} must be 1-40 lower-case letters, digits, - or _ and not one of "
            f"{', '.join(sorted(RESERVED_NAMES))}"
        )
    kind = _required_text(entry, "type")
    if kind not in {t.value for t in SourceType}:
        raise FeedbackConfigError(f"type {kind!r} is not one of: discourse, feed")
    url = _url(_required_text(entry, "url"))
    api_key, api_username = _optional_text(entry, "api_key"), _optional_text(entry, "api_username")
    if (api_key is None) != (api_username is None):
        raise FeedbackConfigError("api_key and api_username go together: give both or neither")
    return SourceConfig(
        name=name,
        type=SourceType(kind),
        url=url,
        api_key=api_key,
        api_username=api_username,
        webhook_secret=_optional_text(entry, "webhook_secret"),
        categories=_categories(entry.get("categories")),
        poll_interval_s=_poll_interval(entry.get("poll_interval")),
        max_pages=_max_pages(entry.get("max_pages")),
        service=_optional_text(entry, "service"),
    )


def _required_text(entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise FeedbackConfigError(f"{key} is required (a non-empty string)")
    return value.strip()


def _optional_text(entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise FeedbackConfigError(f"{key} must be a non-empty string")
    return value.strip()


def _url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise FeedbackConfigError(f"url {url!r} must be an http:// or https:// address")
    return url.rstrip("/") if parts.path in {"", "/"} else url


def _categories(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(c, int | str) and not isinstance(c, bool) and str(c).strip() for c in value
    ):
        raise FeedbackConfigError("categories must be a list of category slugs or ids")
    return tuple(str(c).strip() for c in value)


def _poll_interval(value: object) -> float | None:
    if value is None:
        return DEFAULT_POLL_INTERVAL_S
    if value is False or value == "off":
        return None
    seconds = parse_duration_s(value)
    if seconds < MIN_POLL_INTERVAL_S:
        raise FeedbackConfigError(f"poll_interval must be at least {MIN_POLL_INTERVAL_S:.0f}s")
    return seconds


def _max_pages(value: object) -> int:
    if value is None:
        return DEFAULT_MAX_PAGES
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise FeedbackConfigError("max_pages must be a whole number from 1 to 100")
    return value


def definition_of(source: SourceConfig) -> dict[str, Any]:
    """The config-entry mapping of a source (what `parse_source` reads back)."""
    entry: dict[str, Any] = {"name": source.name, "type": source.type.value, "url": source.url}
    for key in ("api_key", "api_username", "webhook_secret", "service"):
        if getattr(source, key):
            entry[key] = getattr(source, key)
    if source.categories:
        entry["categories"] = list(source.categories)
    entry["poll_interval"] = source.poll_interval_s if source.poll_interval_s else "off"
    entry["max_pages"] = source.max_pages
    return entry
