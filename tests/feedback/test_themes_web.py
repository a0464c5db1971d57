"""Theme pages: counts without spam, members, trend chart, merge decisions, renaming."""

import re
from datetime import UTC, datetime

from sqlmodel import Session, select

from core.models import Role
from feedback.analysis import Analyser
from feedback.analysis_models import MergeStatus, Theme, ThemeMerge
from feedback.ingest import NewFeedback, ingest
from feedback.models import Feedback, FeedbackKind
from feedback.theme_store import cluster_new_feedback
from tests.conftest import csrf_token_from, login

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TEXTS = [
    "The checkout page times out when I pay",
    "Checkout page times out when paying!",
    "checkout page timed out again when I tried to pay",
    "Please add a dark mode to the dashboard",
    "Dark mode for the dashboard would be lovely",
]


def _seed(engine):
    with Session(engine) as s:
        items = [
            NewFeedback(
                source="api", kind=FeedbackKind.API, text=t, external_id=str(i), created_at=NOW
            )
            for i, t in enumerate(TEXTS)
        ]
        ingest(s, items, NOW, Analyser())
        s.flush()
        cluster_new_feedback(s, NOW)
        s.commit()
        return {t.label: t.id for t in s.exec(select(Theme))}


def test_the_theme_list_counts_members_without_spam(auth_client, engine):
    themes = _seed(engine)
    with Session(engine) as s:
        row = s.exec(select(Feedback).where(Feedback.external_id == "1")).one()
        row.spam = True
        s.add(row)
        s.commit()
    html = auth_client.get("/feedback/themes/").get_data(as_text=True)
    assert "The checkout page times out when I pay" in html
    checkout = themes["The checkout page times out when I pay"]
    row = re.search(rf'themes/{checkout}">.*?</tr>', html, re.S).group(0)
    assert re.search(r"theme=\d+\">2</a>", row), row  # 3 posts, one of them spam


def test_a_theme_page_lists_members_and_draws_the_trend(auth_client, engine):
    themes = _seed(engine)
    page = auth_client.get(f"/feedback/themes/{themes['Please add a dark mode to the dashboard']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Dark mode for the dashboard would be lovely" in html
    assert '<div class="stat">2</div>' in html
    assert "Plotly.newPlot" in html and "plotly.min.js" in html
    assert auth_client.get("/feedback/themes/9999").status_code == 404


def test_an_editor_confirms_and_undoes_a_merge(auth_client, engine):
    themes = _seed(engine)
    ids = sorted(themes.values())
    with Session(engine) as s:
        merge = ThemeMerge(
            theme_id=ids[0], other_theme_id=ids[1], similarity=0.7, status="suggested",
            created_at=NOW,
        )  # fmt: skip
        s.add(merge)
        s.commit()
        merge_id = merge.id
    page = auth_client.get("/feedback/themes/").get_data(as_text=True)
    assert "Suggested merges" in page
    token = csrf_token_from(page)
    done = auth_client.post(
        f"/feedback/themes/merges/{merge_id}/confirm", data={"csrf_token": token}
    )
    assert done.status_code == 303
    with Session(engine) as s:
        assert s.get(Theme, ids[1]).merged_into_id == ids[0]
        assert s.get(ThemeMerge, merge_id).decided_by == "alice"
    again = auth_client.post(
        f"/feedback/themes/merges/{merge_id}/confirm", data={"csrf_token": token}
    )
    assert again.status_code == 303
    assert "already confirmed" in auth_client.get("/feedback/themes/").get_data(as_text=True)
    auth_client.post(f"/feedback/themes/merges/{merge_id}/undo", data={"csrf_token": token})
    with Session(engine) as s:
        assert s.get(Theme, ids[1]).merged_into_id is None
        assert s.get(ThemeMerge, merge_id).status == MergeStatus.UNDONE


def test_a_viewer_may_look_but_not_decide(client, engine, make_user):
    themes = _seed(engine)
    login(client, "val", make_user("val", Role.VIEWER))
    page = client.get("/feedback/themes/").get_data(as_text=True)
    theme_id = next(iter(themes.values()))
    response = client.post(
        f"/feedback/themes/{theme_id}/label",
        data={"label": "renamed", "csrf_token": csrf_token_from(page)},
    )
    assert response.status_code == 403


def test_renaming_needs_a_label(auth_client, engine):
    themes = _seed(engine)
    theme_id = next(iter(themes.values()))
    page = auth_client.get(f"/feedback/themes/{theme_id}").get_data(as_text=True)
    token = csrf_token_from(page)
    auth_client.post(
        f"/feedback/themes/{theme_id}/label", data={"label": "  ", "csrf_token": token}
    )
    assert "1 to 200 characters" in auth_client.get(f"/feedback/themes/{theme_id}").get_data(
        as_text=True
    )
    auth_client.post(
        f"/feedback/themes/{theme_id}/label", data={"label": "Checkout <b>", "csrf_token": token}
    )
    html = auth_client.get(f"/feedback/themes/{theme_id}").get_data(as_text=True)
    assert "Checkout &lt;b&gt;" in html
