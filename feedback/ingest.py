"""Storing new feedback: validate, analyse, then insert-or-ignore on (source, external id).

Every source (form, surveys, CSV, API, forums, feeds, demo) ends here, so that the same
item arriving twice is stored once and every text is analysed (cleaned, personal data
redacted, sentiment, urgency, service) the same way before it touches the database.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from core.clock import as_utc
from core.db import insert_ignore
from feedback.analysis import Analyser
from feedback.models import Feedback, FeedbackKind

MAX_TEXT_CHARS = 20_000
MAX_SOURCE_CHARS = 80
MAX_EXTERNAL_ID_CHARS = 255
MAX_SHORT_CHARS = 255
MAX_URL_CHARS = 2048
MAX_SERVICE_CHARS = 120
# Rows per INSERT statement: well under SQLite's bound-parameter limit (32766) at 20 columns.
INSERT_CHUNK = 500

_SPACES = re.compile(r"\s+")

# The first published name of the analyser type, kept for code written against it.
AnalyserLike = Analyser


@dataclass
class NewFeedback:
    """One piece of feedback as a source hands it over, before analysis."""

    source: str
    kind: FeedbackKind
    text: str
    external_id: str | None = None  # None: derived from the content (see stable_external_id)
    author: str | None = None
    email: str | None = None
    rating: float | None = None
    url: str | None = None
    created_at: datetime | None = None  # None: the time it was received
    service: str | None = None  # a hint (the form's choice, the survey's service)
    survey_response_id: int | None = None


@dataclass(frozen=True)
class ItemError:
    """An item that was refused: its position in the batch (0-based) and why."""

    index: int
    reason: str


@dataclass
class IngestResult:
    added: int = 0
    duplicates: int = 0
    errors: list[ItemError] = field(default_factory=list)
    # (source, external_id) -> new row id, for the items that were added
    added_ids: dict[tuple[str, str], int] = field(default_factory=dict)


def content_hash(text: str) -> str:
    """SHA-256 of the text with case and whitespace normalised (near-identical reposts)."""
    normal = _SPACES.sub(" ", text.strip().lower())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def stable_external_id(item: NewFeedback) -> str:
    """An id for sources that give none: the same content always yields the same id."""
    when = as_utc(item.created_at).isoformat() if item.created_at else ""
    basis = "\x1f".join([item.author or "", item.email or "", when, item.text.strip()])
    return "sha256:" + hashlib.sha256(basis.encode("utf-8")).hexdigest()


def validate_item(item: NewFeedback) -> str | None:
    """Why an item cannot be stored, or None when it can."""
    if not item.source or len(item.source) > MAX_SOURCE_CHARS:
        return f"source must be 1 to {MAX_SOURCE_CHARS} characters"
    if not item.text or not item.text.strip():
        return "text is empty"
    if len(item.text) > MAX_TEXT_CHARS:
        return f"text is longer than {MAX_TEXT_CHARS} characters"
    if item.external_id is not None and not 0 < len(item.external_id) <= MAX_EXTERNAL_ID_CHARS:
        return f"external_id must be 1 to {MAX_EXTERNAL_ID_CHARS} characters"
    for name in ("author", "email"):
        value = getattr(item, name)
        if value is not None and len(value) > MAX_SHORT_CHARS:
            return f"{name} is longer than {MAX_SHORT_CHARS} characters"
    if item.url is not None and len(item.url) > MAX_URL_CHARS:
        return f"url is longer than {MAX_URL_CHARS} characters"
    if item.service is not None and len(item.service) > MAX_SERVICE_CHARS:
        return f"service is longer than {MAX_SERVICE_CHARS} characters"
    if item.rating is not None and not math.isfinite(item.rating):
        return "rating must be a finite number"
    if item.created_at is not None and item.created_at.tzinfo is None:
        return "created_at has no time zone"
    return None


def ingest(
    session: Session,
    items: Sequence[NewFeedback],
    now: datetime,
    analyser: Analyser,
) -> IngestResult:
    """Analyse and store items; an item already stored (same source and id) is skipped.

    Invalid items are reported in `errors` and the valid ones are still stored. The caller
    commits the session.
    """
    result = IngestResult()
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for index, item in enumerate(items):
        reason = validate_item(item)
        if reason is not None:
            result.errors.append(ItemError(index, reason))
            continue
        external_id = item.external_id or stable_external_id(item)
        key = (item.source, external_id)
        if key in rows:
            result.duplicates += 1
            continue
        rows[key] = _row(item, external_id, now, analyser)
    values = list(rows.values())
    for start in range(0, len(values), INSERT_CHUNK):
        chunk = values[start : start + INSERT_CHUNK]
        for row_id, source, external_id in _insert_or_ignore(session, chunk):
            result.added_ids[(source, external_id)] = row_id
    result.added = len(result.added_ids)
    result.duplicates += len(values) - result.added
    return result


def _row(item: NewFeedback, external_id: str, now: datetime, analyser: Analyser) -> dict[str, Any]:
    analysis = analyser.analyse(item.text, service_hint=item.service)
    return {
        "source": item.source,
        "kind": FeedbackKind(item.kind).value,
        "external_id": external_id,
        "author": item.author,
        "email": item.email,
        "text": analysis.text,
        "rating": item.rating,
        "url": item.url,
        "created_at": as_utc(item.created_at) if item.created_at else now,
        "received_at": now,
        "service": analysis.service or item.service,
        "sentiment": analysis.sentiment,
        "sentiment_label": analysis.sentiment_label.value,
        "urgent": bool(analysis.urgent),
        "theme_id": None,
        "spam": False,
        "survey_response_id": item.survey_response_id,
        # Hash of the cleaned text: what near-duplicate detection should compare.
        "content_hash": content_hash(analysis.text),
    }


def _insert_or_ignore(session: Session, rows: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """Insert rows, skipping (source, external_id) pairs already stored; return the new ones."""
    if not rows:
        return []
    table = Feedback.__table__  # type: ignore[attr-defined]
    stmt = insert_ignore(session, table, ["source", "external_id"]).returning(
        table.c.id, table.c.source, table.c.external_id
    )
    # Parameters passed separately: SQLAlchemy batches them ("insertmanyvalues") with one
    # cached statement instead of compiling a new multi-row VALUES clause per call.
    return [(r[0], r[1], r[2]) for r in session.execute(stmt, rows).all()]
