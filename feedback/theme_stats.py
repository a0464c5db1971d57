"""Figures of themes for people: member counts (spam excluded), recent trend, sentiment mix."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from core.clock import as_utc
from feedback.analysis_models import MergeStatus, Theme, ThemeMerge
from feedback.models import Feedback
from feedback.theme_store import member_theme_ids

RECENT_DAYS = 7


@dataclass
class ThemeSummary:
    theme: Theme
    count: int = 0  # members that are not spam, merged themes included
    recent: int = 0  # of those, created in the last RECENT_DAYS days
    negative: int = 0
    urgent: int = 0
    merged: list[Theme] = field(default_factory=list)

    @property
    def top_terms(self) -> list[str]:
        terms: list[str] = json.loads(self.theme.top_terms or "[]")
        return terms


def theme_summaries(session: Session, now: datetime, min_count: int = 1) -> list[ThemeSummary]:
    """Themes that were not merged into another, biggest first."""
    themes = {t.id: t for t in session.exec(select(Theme))}
    root_of = {tid: (t.merged_into_id or tid) for tid, t in themes.items()}
    summaries = {tid: ThemeSummary(t) for tid, t in themes.items() if t.merged_into_id is None}
    for theme in themes.values():
        if theme.merged_into_id in summaries:
            summaries[theme.merged_into_id].merged.append(theme)
    since = now - timedelta(days=RECENT_DAYS)
    rows = session.execute(
        sql_select(
            col(Feedback.theme_id),
            func.count(),
            func.sum(_flag(col(Feedback.created_at) >= since)),
            func.sum(_flag(col(Feedback.sentiment_label) == "negative")),
            func.sum(_flag(col(Feedback.urgent).is_(True))),
        )
        .where(col(Feedback.theme_id).is_not(None), col(Feedback.spam).is_(False))
        .group_by(col(Feedback.theme_id))
    ).all()
    for theme_id, count, recent, negative, urgent in rows:
        summary = summaries.get(root_of.get(theme_id, -1))
        if summary is None:
            continue
        summary.count += int(count)
        summary.recent += int(recent or 0)
        summary.negative += int(negative or 0)
        summary.urgent += int(urgent or 0)
    found = [s for s in summaries.values() if s.count >= min_count]
    return sorted(found, key=lambda s: (-s.recent, -s.count, s.theme.id or 0))


def _flag(condition: ColumnElement[bool]) -> Any:
    return case((condition, 1), else_=0)


def daily_counts(
    session: Session, theme_id: int, now: datetime, days: int = 30
) -> list[tuple[date, int]]:
    """Members (spam excluded) per day over the last `days` days, oldest first, gaps as 0."""
    start = (now - timedelta(days=days - 1)).date()
    ids = member_theme_ids(session, theme_id)
    created = session.exec(
        select(Feedback.created_at).where(
            col(Feedback.theme_id).in_(ids),
            col(Feedback.spam).is_(False),
            col(Feedback.created_at) >= now - timedelta(days=days),
        )
    ).all()
    per_day = Counter(as_utc(c).date() for c in created)
    return [
        (start + timedelta(days=i), per_day.get(start + timedelta(days=i), 0)) for i in range(days)
    ]


def member_count(session: Session, theme_id: int) -> int:
    """Members of the theme and of the themes merged into it, spam excluded."""
    ids = member_theme_ids(session, theme_id)
    return int(
        session.execute(
            sql_select(func.count()).where(
                col(Feedback.theme_id).in_(ids), col(Feedback.spam).is_(False)
            )
        ).scalar_one()
    )


def theme_members(session: Session, theme_id: int, limit: int = 100) -> list[Feedback]:
    ids = member_theme_ids(session, theme_id)
    return list(
        session.exec(
            select(Feedback)
            .where(col(Feedback.theme_id).in_(ids), col(Feedback.spam).is_(False))
            .order_by(col(Feedback.created_at).desc())
            .limit(limit)
        )
    )


def merges_by_status(session: Session) -> dict[str, list[tuple[ThemeMerge, Theme, Theme]]]:
    """Merge decisions with both themes, grouped by status (suggested first in each list)."""
    themes = {t.id: t for t in session.exec(select(Theme))}
    grouped: dict[str, list[tuple[ThemeMerge, Theme, Theme]]] = defaultdict(list)
    merges = session.exec(select(ThemeMerge).order_by(col(ThemeMerge.similarity).desc()))
    for merge in merges:
        target, other = themes.get(merge.theme_id), themes.get(merge.other_theme_id)
        if target is None or other is None:
            continue
        if merge.status == MergeStatus.SUGGESTED and (
            other.merged_into_id is not None or target.merged_into_id is not None
        ):
            continue  # one side was merged elsewhere meanwhile: the suggestion is moot
        grouped[merge.status].append((merge, target, other))
    return grouped
