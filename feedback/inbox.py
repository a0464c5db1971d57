"""Reading the feedback inbox: filters, pages, counts, and marking spam.

Spam is excluded from every count and list unless a caller asks for it explicitly
(`include_spam`), so that a flood of junk never moves a number on a dashboard or a plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from feedback.analysis_models import Theme
from feedback.models import Feedback, Sentiment
from feedback.theme_store import member_theme_ids

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class InboxFilter:
    source: str | None = None
    service: str | None = None
    sentiment: Sentiment | None = None
    theme_id: int | None = None
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before
    urgent: bool | None = None
    include_spam: bool = False
    spam_only: bool = False


@dataclass(frozen=True)
class Page:
    items: list[Feedback]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _conditions(session: Session, filters: InboxFilter) -> list[Any]:
    where: list[Any] = []
    if filters.spam_only:
        where.append(col(Feedback.spam).is_(True))
    elif not filters.include_spam:
        where.append(col(Feedback.spam).is_(False))
    if filters.source:
        where.append(col(Feedback.source) == filters.source)
    if filters.service:
        where.append(col(Feedback.service) == filters.service)
    if filters.sentiment is not None:
        where.append(col(Feedback.sentiment_label) == filters.sentiment.value)
    if filters.theme_id is not None:
        where.append(col(Feedback.theme_id).in_(member_theme_ids(session, filters.theme_id)))
    if filters.since is not None:
        where.append(col(Feedback.created_at) >= filters.since)
    if filters.until is not None:
        where.append(col(Feedback.created_at) < filters.until)
    if filters.urgent is not None:
        where.append(col(Feedback.urgent).is_(filters.urgent))
    return where


def count_feedback(session: Session, filters: InboxFilter | None = None) -> int:
    """How many items match (spam excluded unless the filter includes it)."""
    where = _conditions(session, filters or InboxFilter())
    return int(session.exec(select(func.count()).select_from(Feedback).where(*where)).one())


def list_feedback(
    session: Session, filters: InboxFilter, page: int = 1, per_page: int = 50
) -> Page:
    """One page of matching items, newest first."""
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    page = max(1, page)
    where = _conditions(session, filters)
    query = (
        select(Feedback)
        .where(*where)
        .order_by(col(Feedback.created_at).desc(), col(Feedback.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    items = list(session.exec(query).all())
    return Page(items, count_feedback(session, filters), page, per_page)


def counts_by(session: Session, column: str, filters: InboxFilter | None = None) -> dict[str, int]:
    """Counts per value of source, service, sentiment_label or kind (spam excluded)."""
    if column not in {"source", "service", "sentiment_label", "kind"}:
        raise ValueError(f"cannot count by {column!r}")
    field = getattr(Feedback, column)
    where = _conditions(session, filters or InboxFilter())
    query = select(field, func.count()).where(*where).group_by(field)
    return {str(value): int(n) for value, n in session.exec(query).all() if value is not None}


def distinct_values(session: Session, column: str) -> list[str]:
    """Values seen in a column (for filter menus), spam included so nothing disappears."""
    if column not in {"source", "service"}:
        raise ValueError(f"no menu of {column!r}")
    field = getattr(Feedback, column)
    values = session.exec(select(field).where(field.is_not(None)).distinct()).all()
    return sorted(str(v) for v in values)


def theme_labels(session: Session) -> dict[int, str]:
    """Id -> label of the themes that have not been merged into another."""
    query = select(Theme.id, Theme.label).where(col(Theme.merged_into_id).is_(None))
    return {int(i): label for i, label in session.exec(query).all() if i is not None}


def set_spam(session: Session, feedback_id: int, spam: bool) -> Feedback | None:
    """Mark (or unmark) an item as spam; None when there is no such item."""
    item = session.get(Feedback, feedback_id)
    if item is None:
        return None
    item.spam = spam
    session.add(item)
    session.flush()
    return item
