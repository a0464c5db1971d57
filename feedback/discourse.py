"""Discourse forums: poll /posts.json from a high-water mark, and apply signed webhook deliveries.

Polling: `/posts.json` lists the latest posts, newest first; `?before=<id>` pages further
back. A poll reads the first page and keeps the posts above the high-water mark (the highest
post id stored). When every post on that page is new, older unseen posts may lie beyond it,
so a catch-up starts: `before=` pages down to the old mark, at most `max_pages` per poll,
resumed on the next poll from the stored cursor. The first poll of a forum is such a catch-up
from zero; later polls read one page unless more than a page arrived in between.

Webhooks: the body's HMAC-SHA256 with the source's webhook_secret must equal the
`X-Discourse-Event-Signature` header (`sha256=<hex>`), compared in constant time. A delivery
is applied once: its `X-Discourse-Event-Id` is recorded, and posts dedupe on their id.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nh3
from sqlmodel import Session, select

from core.db import insert_ignore
from feedback.analysis import Analyser
from feedback.analysis_models import SourceState, WebhookEvent
from feedback.errors import SignatureError, SourcePayloadError, UnknownSourceError
from feedback.fetching import http_get
from feedback.ingest import NewFeedback, content_hash, ingest
from feedback.models import Feedback, FeedbackKind
from feedback.sources import SourceConfig, SourceType

REGULAR_POST = 1  # Discourse post_type: 1 regular, 2 moderator action, 3 small action, 4 whisper
_BLOCK_END = re.compile(r"(?i)</(?:p|div|li|h[1-6]|blockquote|pre|tr|ul|ol)>|<br\s*/?>")
# quotes of other posts and link previews (oneboxes) are <aside>: not this author's words
_DROPPED_WITH_CONTENT = {"aside", "script", "style"}


@dataclass
class PollOutcome:
    added: int = 0
    duplicates: int = 0
    filtered: int = 0
    pages: int = 0


def cooked_to_text(cooked: str) -> str:
    """Plain text of Discourse's rendered HTML (nh3 strips every tag; entities unescaped)."""
    marked = _BLOCK_END.sub(lambda m: m.group(0) + "\n", cooked)
    stripped = nh3.clean(marked, tags=set(), clean_content_tags=_DROPPED_WITH_CONTENT)
    return html.unescape(stripped).strip()


def post_text(post: Mapping[str, Any]) -> str:
    raw = post.get("raw")
    if isinstance(raw, str) and raw.strip():
        return raw
    cooked = post.get("cooked")
    return cooked_to_text(cooked) if isinstance(cooked, str) else ""


def post_to_feedback(source: SourceConfig, post: Mapping[str, Any]) -> NewFeedback:
    post_id = post.get("id")
    if not isinstance(post_id, int):
        raise SourcePayloadError(f"{source.name}: a post without a numeric id")
    created = _parse_time(post.get("created_at"))
    url = None
    if post.get("topic_id") is not None:
        slug = post.get("topic_slug") or "-"
        url = f"{source.url}/t/{slug}/{post['topic_id']}/{post.get('post_number') or 1}"
    return NewFeedback(
        source=source.name,
        kind=FeedbackKind.DISCOURSE,
        text=post_text(post),
        external_id=str(post_id),
        author=post.get("username") or post.get("name"),
        url=url,
        created_at=created,
        service=source.service,
    )


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _wanted(post: Mapping[str, Any], categories: set[str]) -> bool:
    if post.get("post_type", REGULAR_POST) != REGULAR_POST:
        return False
    if post.get("hidden") or post.get("deleted_at") or post.get("user_deleted"):
        return False
    if not categories:
        return True
    return bool({str(post.get("category_id")), str(post.get("category_slug"))} & categories)


def _headers(source: SourceConfig) -> dict[str, str]:
    if source.api_key and source.api_username:
        return {"Api-Key": source.api_key, "Api-Username": source.api_username}
    return {}


def _category_filter(source: SourceConfig, now: datetime) -> set[str]:
    """The configured categories as ids (slugs resolved through /categories.json) and slugs."""
    wanted = set(source.categories)
    if not wanted or all(c.isdigit() for c in wanted):
        return wanted
    body = _json(http_get(f"{source.url}/categories.json", _headers(source), now=now).text)
    listing = body.get("category_list", {}).get("categories", [])
    for category in listing if isinstance(listing, list) else []:
        if isinstance(category, dict) and category.get("slug") in wanted:
            wanted.add(str(category.get("id")))
    return wanted


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SourcePayloadError(f"the forum answered something that is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SourcePayloadError("the forum answered JSON that is not an object")
    return data


def _fetch_page(source: SourceConfig, before: int | None, now: datetime) -> list[dict[str, Any]]:
    params = {"before": str(before)} if before is not None else None
    response = http_get(f"{source.url}/posts.json", _headers(source), params=params, now=now)
    posts = _json(response.text).get("latest_posts")
    if not isinstance(posts, list) or not all(
        isinstance(p, dict) and isinstance(p.get("id"), int) for p in posts
    ):
        raise SourcePayloadError("posts.json has no latest_posts list of posts with ids")
    return posts


def poll_discourse(
    session: Session,
    source: SourceConfig,
    state: SourceState,
    now: datetime,
    analyser: Analyser,
) -> PollOutcome:
    """Store the forum's posts not seen yet; advances `state` page by page (caller commits)."""
    outcome = PollOutcome()
    categories = _category_filter(source, now)
    mark = int(state.high_water_mark or 0)
    if state.backfill_cursor is None:
        posts = _fetch_page(source, None, now)
        outcome.pages += 1
        new = [p for p in posts if p["id"] > mark]
        _store(session, source, new, categories, now, analyser, outcome)
        if new and len(new) == len(posts):  # nothing known on the page: older posts may be missed
            state.backfill_cursor = str(min(p["id"] for p in new))
            state.backfill_floor = str(mark)
        state.high_water_mark = str(max([mark, *(p["id"] for p in posts)]))
    while state.backfill_cursor is not None and outcome.pages < source.max_pages:
        cursor, floor = int(state.backfill_cursor), int(state.backfill_floor or 0)
        posts = _fetch_page(source, cursor, now)
        outcome.pages += 1
        older = [p for p in posts if floor < p["id"] < cursor]
        _store(session, source, older, categories, now, analyser, outcome)
        reached_floor = any(p["id"] <= floor for p in posts)
        if not older or reached_floor:
            state.backfill_cursor = state.backfill_floor = None
        else:
            state.backfill_cursor = str(min(p["id"] for p in older))
    return outcome


def _store(
    session: Session,
    source: SourceConfig,
    posts: list[dict[str, Any]],
    categories: set[str],
    now: datetime,
    analyser: Analyser,
    outcome: PollOutcome,
) -> None:
    wanted = [p for p in posts if _wanted(p, categories)]
    outcome.filtered += len(posts) - len(wanted)
    items = [post_to_feedback(source, p) for p in wanted]
    items = [i for i in items if i.text.strip()]
    result = ingest(session, items, now, analyser)
    outcome.added += result.added
    outcome.duplicates += result.duplicates


# ---------------------------------------------------------------- webhooks


@dataclass(frozen=True)
class WebhookOutcome:
    status: str  # "pong", "added", "updated", "duplicate", "ignored", "filtered"
    detail: str = ""


def signature_for(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> None:
    if not header:
        raise SignatureError("missing X-Discourse-Event-Signature header")
    if not hmac.compare_digest(signature_for(secret, body), header.strip()):
        raise SignatureError("X-Discourse-Event-Signature does not match the body")


def webhook_source(sources: list[SourceConfig], name: str) -> SourceConfig:
    for source in sources:
        if source.name == name and source.type is SourceType.DISCOURSE:
            if not source.webhook_secret:
                raise UnknownSourceError(f"source {name!r} has no webhook_secret: webhooks are off")
            return source
    raise UnknownSourceError(f"no Discourse source named {name!r} is configured")


def handle_webhook(
    session: Session,
    source: SourceConfig,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    analyser: Analyser,
) -> WebhookOutcome:
    """Verify and apply one delivery (the caller commits)."""
    verify_signature(source.webhook_secret or "", body, headers.get("X-Discourse-Event-Signature"))
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise SourcePayloadError(f"the body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise SourcePayloadError("the body must be a JSON object")
    event = headers.get("X-Discourse-Event", "")
    if "ping" in payload or event == "ping":
        return WebhookOutcome("pong")
    event_id = (headers.get("X-Discourse-Event-Id") or "").strip()
    if event_id and not _record_event(session, source.name, event_id[:120], event, now):
        return WebhookOutcome("duplicate", f"event {event_id} was applied before")
    post = payload.get("post")
    if not isinstance(post, dict):
        return WebhookOutcome("ignored", f"event {event or '?'} carries no post")
    if event not in {"", "post_created", "post_edited", "post_recovered"}:
        return WebhookOutcome("ignored", f"event {event} is not used")
    if not _wanted(post, set(source.categories)):
        return WebhookOutcome("filtered", "post outside the configured categories or not public")
    item = post_to_feedback(source, post)
    if not item.text.strip():
        raise SourcePayloadError("the post has neither raw nor cooked text")
    if event == "post_edited" and _apply_edit(session, item, analyser):
        return WebhookOutcome("updated", f"post {item.external_id}")
    result = ingest(session, [item], now, analyser)
    if result.errors:
        raise SourcePayloadError(result.errors[0].reason)
    return WebhookOutcome("added" if result.added else "duplicate", f"post {item.external_id}")


def _record_event(session: Session, source: str, event_id: str, event: str, now: datetime) -> bool:
    """Insert-or-ignore the delivery's id; False when it was recorded before."""
    table = WebhookEvent.__table__  # type: ignore[attr-defined]
    stmt = (
        insert_ignore(session, table, ["source", "event_id"])
        .values(source=source, event_id=event_id, event_type=event[:80] or None, received_at=now)
        .returning(table.c.id)
    )
    return session.execute(stmt).first() is not None


def _apply_edit(session: Session, item: NewFeedback, analyser: Analyser) -> bool:
    """Replace a stored post's text with the edited one and analyse it again."""
    row = session.exec(
        select(Feedback).where(
            Feedback.source == item.source, Feedback.external_id == item.external_id
        )
    ).first()
    if row is None:
        return False
    analysis = analyser.analyse(item.text, service_hint=item.service)
    row.text = analysis.text
    row.sentiment = analysis.sentiment
    row.sentiment_label = analysis.sentiment_label.value
    row.urgent = bool(analysis.urgent)
    row.service = analysis.service or row.service
    row.content_hash = content_hash(analysis.text)
    session.add(row)
    session.flush()
    return True
