"""Clustering feedback into themes: grouping, top terms, incremental runs, merges."""

from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from feedback.analysis import Analyser
from feedback.analysis_models import MergeStatus, Theme, ThemeMerge
from feedback.errors import ThemeError
from feedback.ingest import NewFeedback, ingest
from feedback.models import Feedback, FeedbackKind
from feedback.theme_store import (
    ThemeCache,
    cluster_new_feedback,
    confirm_merge,
    member_theme_ids,
    undo_merge,
)
from feedback.themes import ThemeIndex, terms_of

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CHECKOUT = [
    "The checkout page times out when I pay",
    "Checkout page times out when paying!",
    "checkout page timed out again when I tried to pay",
    "The checkout page keeps timing out as I pay",
]
DARK_MODE = [
    "Please add a dark mode to the dashboard",
    "Dark mode for the dashboard would be lovely",
    "Any plans for a dashboard dark mode?",
]


def _add(session, texts, start=0):
    items = [
        NewFeedback(source="api", kind=FeedbackKind.API, text=t, external_id=str(start + i))
        for i, t in enumerate(texts)
    ]
    ingest(session, items, NOW, Analyser())
    session.flush()


def _theme_of(session, text):
    return session.exec(select(Feedback.theme_id).where(Feedback.text == text)).one()


def test_terms_drop_stop_words_and_fold_inflections():
    assert terms_of("The checkout CRASHED, crashes and crashing!") == ["checkout", "crash"]
    assert terms_of("👍👍") == terms_of(" 👍👍 ")  # wordless posts group only with exact repeats


def test_similar_posts_share_a_theme_and_different_ones_do_not():
    index = ThemeIndex()
    keys = [index.assign(terms_of(t)) for t in CHECKOUT + DARK_MODE]
    assert len(set(keys[: len(CHECKOUT)])) == 1
    assert len(set(keys[len(CHECKOUT) :])) == 1
    assert keys[0] != keys[-1]
    assert {"checkout", "page", "timeout"} <= set(index.top_terms(keys[0])[:4])
    assert "dark" in index.top_terms(keys[-1])


def test_clustering_stores_themes_with_top_terms_and_continues_incrementally(session):
    _add(session, CHECKOUT[:2] + DARK_MODE)
    cache = ThemeCache()
    first = cluster_new_feedback(session, NOW, cache)
    assert first.clustered == 5 and first.new_themes == 2
    checkout = session.get(Theme, _theme_of(session, CHECKOUT[0]))
    assert checkout.size == 2 and "checkout" in checkout.top_terms

    _add(session, CHECKOUT[2:], start=100)
    second = cluster_new_feedback(session, NOW, ThemeCache())  # a fresh process reloads
    assert second.clustered == 2 and second.new_themes == 0
    assert {_theme_of(session, t) for t in CHECKOUT} == {checkout.id}
    session.refresh(checkout)
    assert checkout.size == 4
    assert cluster_new_feedback(session, NOW, cache).clustered == 0


def test_spam_is_not_clustered(session):
    _add(session, CHECKOUT[:1])
    row = session.exec(select(Feedback)).one()
    row.spam = True
    session.add(row)
    session.flush()
    assert cluster_new_feedback(session, NOW).clustered == 0


def _two_similar_themes(session):
    """Two themes about the same thing, built apart and then compared."""
    index_a = ["Search results are slow to load", "search results slow, takes ages to load"]
    index_b = ["Slow search results page", "the search results load so slow"]
    _add(session, index_a)
    cluster_new_feedback(session, NOW, ThemeCache())
    first = _theme_of(session, index_a[0])
    # force the second pair into a theme of its own, as an earlier strict run would have
    session.add(Theme(label="slow search", created_at=NOW, updated_at=NOW))
    session.flush()
    second = session.exec(select(Theme.id).order_by(col(Theme.id).desc())).first()
    _add(session, index_b, start=50)
    for text in index_b:
        row = session.exec(select(Feedback).where(Feedback.text == text)).one()
        row.theme_id = second
        session.add(row)
    theme = session.get(Theme, second)
    theme.size = 2
    theme.term_counts = '{"search": 2, "result": 2, "slow": 2, "load": 1, "page": 1}'
    session.add(theme)
    session.flush()
    _add(session, ["search results are slow again"], start=90)
    result = cluster_new_feedback(session, NOW, ThemeCache())
    return first, second, result


def test_a_merge_is_suggested_confirmed_and_undone_restoring_the_members(session):
    first, second, result = _two_similar_themes(session)
    assert result.suggested_merges == 1
    merge = session.exec(select(ThemeMerge)).one()
    assert {merge.theme_id, merge.other_theme_id} == {first, second}
    assert merge.status == MergeStatus.SUGGESTED

    members_before = {t: set(_members(session, t)) for t in (first, second)}
    confirm_merge(session, merge.id, "alice", NOW)
    assert set(member_theme_ids(session, merge.theme_id)) == {first, second}
    assert session.get(Theme, merge.other_theme_id).merged_into_id == merge.theme_id
    with pytest.raises(ThemeError, match="already confirmed"):
        confirm_merge(session, merge.id, "alice", NOW)

    undo_merge(session, merge.id, "bob", NOW)
    assert member_theme_ids(session, merge.theme_id) == [merge.theme_id]
    assert {t: set(_members(session, t)) for t in (first, second)} == members_before
    assert session.get(ThemeMerge, merge.id).status == MergeStatus.UNDONE
    assert session.get(ThemeMerge, merge.id).decided_by == "bob"


def _members(session, theme_id):
    return session.exec(select(Feedback.id).where(Feedback.theme_id == theme_id)).all()


def test_an_unknown_merge_is_a_clear_error(session):
    with pytest.raises(ThemeError, match="merge suggestion 999 does not exist"):
        confirm_merge(session, 999, "alice", NOW)
