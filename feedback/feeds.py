"""RSS and Atom feeds: fetch with a conditional GET, parse with feedparser, store new entries.

Entries dedupe on their id (Atom `<id>`, RSS `<guid>`), else their link, through ingest's
unique (source, external id). The ETag and Last-Modified of the last answer are kept, so an
unchanged feed costs one 304.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from time import struct_time
from typing import Any

import feedparser
from sqlmodel import Session

from feedback.analysis import Analyser
from feedback.analysis_models import SourceState
from feedback.discourse import cooked_to_text
from feedback.errors import SourcePayloadError
from feedback.fetching import http_get
from feedback.ingest import NewFeedback, ingest
from feedback.models import FeedbackKind
from feedback.sources import SourceConfig

_TAG = re.compile(r"<[a-zA-Z/!]")


@dataclass
class FeedOutcome:
    added: int = 0
    duplicates: int = 0
    not_modified: bool = False
    skipped: int = 0  # entries with neither id nor link, or without text


def poll_feed(
    session: Session, source: SourceConfig, state: SourceState, now: datetime, analyser: Analyser
) -> FeedOutcome:
    headers = {"Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9"}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    response = http_get(source.url, headers, now=now)
    if response.status_code == 304:
        return FeedOutcome(not_modified=True)
    parsed = feedparser.parse(response.content)
    if parsed.bozo and not parsed.entries:
        raise SourcePayloadError(
            f"{source.url} is not an RSS or Atom feed: {parsed.bozo_exception}"
        )
    outcome = FeedOutcome()
    items = []
    for entry in parsed.entries:
        item = entry_to_feedback(source, entry)
        if item is None:
            outcome.skipped += 1
        else:
            items.append(item)
    result = ingest(session, items, now, analyser)
    outcome.added, outcome.duplicates = result.added, result.duplicates
    outcome.skipped += len(result.errors)
    state.etag = (response.headers.get("ETag") or "")[:255] or None
    state.last_modified = (response.headers.get("Last-Modified") or "")[:64] or None
    return outcome


def entry_to_feedback(source: SourceConfig, entry: Any) -> NewFeedback | None:
    external_id = entry.get("id") or entry.get("link")
    text = _entry_text(entry)
    if not external_id or not text:
        return None
    title = (entry.get("title") or "").strip()
    if title and not text.startswith(title):
        text = f"{title}\n\n{text}"
    return NewFeedback(
        source=source.name,
        kind=FeedbackKind.FEED,
        text=text[:20_000],
        external_id=str(external_id)[:255],
        author=(entry.get("author") or None),
        url=entry.get("link"),
        created_at=_entry_time(entry),
        service=source.service,
    )


def _entry_text(entry: Any) -> str:
    content = entry.get("content") or []
    value = content[0].get("value", "") if content else entry.get("summary", "")
    if not value:
        return (entry.get("title") or "").strip()
    # feedparser already sanitised the HTML; what is left is turned into plain text
    return cooked_to_text(value) if _TAG.search(value) else html.unescape(value).strip()


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if isinstance(value, struct_time):
            return datetime(*value[:6], tzinfo=UTC)
    return None
