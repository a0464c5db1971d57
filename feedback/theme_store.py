"""Themes in the database: cluster new feedback incrementally, suggest, confirm and undo merges.

The in-memory ThemeIndex (feedback/themes.py) is rebuilt from the theme rows (their stored
centroids) and kept between runs of the clustering job in a `ThemeCache`, reloaded when
another process changed the themes. Members of a merged theme keep their theme_id: the
merge only sets `merged_into_id`, so undoing it restores every member exactly.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, text, update
from sqlmodel import Session, col, select

from feedback.analysis_models import MergeStatus, Theme, ThemeMerge
from feedback.errors import ThemeError
from feedback.models import Feedback
from feedback.themes import ThemeIndex, ThemeState, terms_of

BATCH = 2000
# Core tables: bulk UPDATEs with executemany go through Core, not the ORM.
THEME = Theme.__table__  # type: ignore[attr-defined]
FEEDBACK = Feedback.__table__  # type: ignore[attr-defined]
LABEL_CHARS = 80


@dataclass
class ThemeCache:
    """The index kept between job runs, and the stamp of the theme rows it reflects."""

    index: ThemeIndex | None = None
    stamp: tuple[int, datetime | None] | None = None


@dataclass
class ClusterResult:
    clustered: int = 0
    new_themes: int = 0
    suggested_merges: int = 0
    touched: set[int] = field(default_factory=set)


def _stamp(session: Session) -> tuple[int, datetime | None]:
    count, latest = session.execute(
        select(func.count(col(Theme.id)), func.max(Theme.updated_at))
    ).one()
    return int(count), latest


def load_index(session: Session) -> ThemeIndex:
    index = ThemeIndex()
    for theme in session.exec(select(Theme).order_by(col(Theme.id))):
        counts = Counter({str(t): int(c) for t, c in json.loads(theme.term_counts).items()})
        state = ThemeState(counts=counts, size=theme.size, label=theme.label, service=theme.service)
        index.load(int(theme.id or 0), state)
    return index


def cluster_new_feedback(
    session: Session, now: datetime, cache: ThemeCache | None = None, batch: int = BATCH
) -> ClusterResult:
    """Give every unclustered, non-spam feedback a theme (up to `batch` of them per call)."""
    cache = cache or ThemeCache()
    _claim_write_lock(session)
    if cache.index is None or cache.stamp != _stamp(session):
        cache.index = load_index(session)
    index = cache.index
    rows = session.execute(
        select(Feedback.id, Feedback.text, Feedback.service)
        .where(col(Feedback.theme_id).is_(None), col(Feedback.spam).is_(False))
        .order_by(col(Feedback.id))
        .limit(batch)
    ).all()
    result = ClusterResult()
    assigned: list[tuple[int, int]] = []
    for feedback_id, body, service in rows:
        key = index.assign(terms_of(body), _label(body), service)
        assigned.append((feedback_id, key))
        result.touched.add(key)
    ids = _store_new_themes(session, index, sorted(k for k in result.touched if k < 0), now)
    result.new_themes = len(ids)
    result.touched = {ids.get(k, k) for k in result.touched}
    _save_themes(session, index, result.touched, now)
    if assigned:
        session.execute(
            update(FEEDBACK)
            .where(FEEDBACK.c.id == bindparam("fid"))
            .values(theme_id=bindparam("tid")),
            [{"fid": fid, "tid": ids.get(key, key)} for fid, key in assigned],
        )
    result.clustered = len(assigned)
    result.suggested_merges = suggest_merges(session, index, result.touched, now)
    session.flush()
    cache.stamp = _stamp(session)
    return result


def _claim_write_lock(session: Session) -> None:
    """On SQLite, take the write lock before reading, so the busy timeout applies.

    A transaction that reads first and writes later fails at once with "database is locked"
    (SQLITE_BUSY_SNAPSHOT) if another connection wrote in between; waiting is not possible
    then. A write statement first (matching no row) queues for the lock instead.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE theme SET size = size WHERE 0"))


def _label(text: str) -> str:
    first = text.strip().split("\n", 1)[0]
    return first if len(first) <= LABEL_CHARS else first[: LABEL_CHARS - 1].rstrip() + "\u2026"


def _store_new_themes(
    session: Session, index: ThemeIndex, keys: list[int], now: datetime
) -> dict[int, int]:
    """Insert the themes created in this run; their provisional key -> stored id."""
    rows = {
        key: Theme(label=index.themes[key].label or "(untitled)", created_at=now, updated_at=now)
        for key in keys
    }
    session.add_all(rows.values())
    session.flush()
    ids: dict[int, int] = {}
    for key, theme in rows.items():
        ids[key] = int(theme.id or 0)
        index.rekey(key, ids[key])
    return ids


def _save_themes(session: Session, index: ThemeIndex, keys: set[int], now: datetime) -> None:
    values: list[dict[str, Any]] = []
    for key in keys:
        state = index.themes[key]
        values.append(
            {
                "tid": key,
                "size": state.size,
                "service": state.service,
                "top_terms": json.dumps(index.top_terms(key)),
                "term_counts": json.dumps(dict(state.counts.most_common()), ensure_ascii=False),
                "updated_at": now,
            }
        )
    if values:
        session.execute(
            update(THEME)
            .where(THEME.c.id == bindparam("tid"))
            .values(
                size=bindparam("size"),
                service=bindparam("service"),
                top_terms=bindparam("top_terms"),
                term_counts=bindparam("term_counts"),
                updated_at=bindparam("updated_at"),
            ),
            values,
        )


def suggest_merges(session: Session, index: ThemeIndex, keys: set[int], now: datetime) -> int:
    """Record a merge suggestion for each pair of similar themes not decided before."""
    known = {frozenset((m.theme_id, m.other_theme_id)) for m in session.exec(select(ThemeMerge))}
    merged_rows = session.exec(select(Theme.id).where(col(Theme.merged_into_id).is_not(None)))
    merged = {int(t) for t in merged_rows if t is not None}
    added = 0
    vectors: dict[int, dict[str, float]] = {}
    for key in sorted(keys):
        if key in merged or index.themes[key].size < 2:
            continue
        for other, similarity in index.similar_themes(key, exclude=merged, vectors=vectors):
            pair = frozenset((key, other))
            if pair in known or index.themes[other].size < 2:
                continue
            known.add(pair)
            # the larger theme absorbs the smaller one
            big, small = sorted((key, other), key=lambda k: (-index.themes[k].size, k))
            session.add(
                ThemeMerge(
                    theme_id=big,
                    other_theme_id=small,
                    similarity=similarity,
                    status=MergeStatus.SUGGESTED.value,
                    created_at=now,
                )
            )
            added += 1
    return added


def _merge(session: Session, merge_id: int) -> ThemeMerge:
    merge = session.get(ThemeMerge, merge_id)
    if merge is None:
        raise ThemeError(f"merge suggestion {merge_id} does not exist")
    return merge


def confirm_merge(session: Session, merge_id: int, decided_by: str, now: datetime) -> ThemeMerge:
    """Merge the smaller theme into the larger: its members count for the larger from now on."""
    merge = _merge(session, merge_id)
    if merge.status == MergeStatus.CONFIRMED.value:
        raise ThemeError(f"merge {merge_id} is already confirmed")
    target = session.get(Theme, merge.theme_id)
    other = session.get(Theme, merge.other_theme_id)
    if target is None or other is None:
        raise ThemeError(f"merge {merge_id} refers to a theme that no longer exists")
    if target.merged_into_id is not None:
        raise ThemeError(f"theme {target.id} was itself merged into theme {target.merged_into_id}")
    if other.merged_into_id is not None:
        raise ThemeError(f"theme {other.id} is already merged into theme {other.merged_into_id}")
    other.merged_into_id = target.id
    other.updated_at = now
    for child in session.exec(select(Theme).where(col(Theme.merged_into_id) == other.id)):
        child.merged_into_id = target.id  # keep merges one level deep
        session.add(child)
    merge.status = MergeStatus.CONFIRMED.value
    merge.decided_by, merge.decided_at = decided_by, now
    session.add_all([other, merge])
    session.flush()
    return merge


def undo_merge(session: Session, merge_id: int, decided_by: str, now: datetime) -> ThemeMerge:
    """Split a confirmed merge again: the other theme and its members stand on their own."""
    merge = _merge(session, merge_id)
    if merge.status != MergeStatus.CONFIRMED.value:
        raise ThemeError(
            f"merge {merge_id} is {merge.status}, only a confirmed merge can be undone"
        )
    other = session.get(Theme, merge.other_theme_id)
    if other is not None and other.merged_into_id == merge.theme_id:
        other.merged_into_id = None
        other.updated_at = now
        session.add(other)
    merge.status = MergeStatus.UNDONE.value
    merge.decided_by, merge.decided_at = decided_by, now
    session.add(merge)
    session.flush()
    return merge


def dismiss_merge(session: Session, merge_id: int, decided_by: str, now: datetime) -> ThemeMerge:
    """A person says the two themes are different: never suggest this pair again."""
    merge = _merge(session, merge_id)
    if merge.status != MergeStatus.SUGGESTED.value:
        raise ThemeError(f"merge {merge_id} is {merge.status}, only a suggestion can be dismissed")
    merge.status = MergeStatus.DISMISSED.value
    merge.decided_by, merge.decided_at = decided_by, now
    session.add(merge)
    session.flush()
    return merge


def member_theme_ids(session: Session, theme_id: int) -> list[int]:
    """The theme and every theme merged into it: feedback with these theme ids are its members."""
    merged = session.exec(select(Theme.id).where(col(Theme.merged_into_id) == theme_id)).all()
    return [theme_id, *(int(t) for t in merged if t is not None)]


def rename_theme(session: Session, theme_id: int, label: str, now: datetime) -> Theme:
    theme = session.get(Theme, theme_id)
    if theme is None:
        raise ThemeError(f"theme {theme_id} does not exist")
    label = " ".join(label.split())
    if not 1 <= len(label) <= 200:
        raise ThemeError("a theme label must be 1 to 200 characters")
    theme.label, theme.updated_at = label, now
    session.add(theme)
    session.flush()
    return theme
