"""The inbox page: filters, pagination, escaped text, links to originals, and spam."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from core.models import Role
from feedback.analysis import Analyser
from feedback.analysis_models import Theme
from feedback.inbox import InboxFilter, count_feedback, counts_by
from feedback.ingest import NewFeedback, ingest
from feedback.models import Feedback, FeedbackKind
from tests.conftest import csrf_token_from, login


@pytest.fixture
def seeded(engine) -> dict[str, int]:
    items = [
        NewFeedback("forum", FeedbackKind.DISCOURSE, "I love the new dashboard, great work",
                    external_id="p1", service="web", url="https://forum.example.com/t/1",
                    created_at=datetime(2026, 3, 1, tzinfo=UTC)),
        NewFeedback("forum", FeedbackKind.DISCOURSE, "Checkout is broken and I lost my data",
                    external_id="p2", service="shop", created_at=datetime(2026, 3, 5, tzinfo=UTC)),
        NewFeedback("form", FeedbackKind.FORM, "<b>bold</b> <script>alert(1)</script>",
                    external_id="f1", created_at=datetime(2026, 3, 9, tzinfo=UTC)),
        NewFeedback("form", FeedbackKind.FORM, "BUY CHEAP PILLS NOW", external_id="f2",
                    created_at=datetime(2026, 3, 10, tzinfo=UTC)),
    ]  # fmt: skip
    with Session(engine) as s:
        result = ingest(s, items, datetime(2026, 3, 11, tzinfo=UTC), Analyser())
        s.commit()
    return {ext: row_id for (_, ext), row_id in result.added_ids.items()}


def test_the_inbox_lists_newest_first_and_escapes_text(auth_client, seeded):
    html = auth_client.get("/feedback/inbox").get_data(as_text=True)
    assert html.index("BUY CHEAP PILLS") < html.index("Checkout is broken") < html.index("I love")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="https://forum.example.com/t/1"' in html and "original post" in html
    assert "&lt;iframe src=" in html and "/feedback/embed" in html  # the embed snippet


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("source=forum", ["I love", "Checkout is broken"], ["CHEAP PILLS"]),
        ("service=shop", ["Checkout is broken"], ["I love", "CHEAP PILLS"]),
        ("sentiment=negative", ["Checkout is broken"], ["I love"]),
        ("sentiment=positive", ["I love"], ["Checkout is broken"]),
        ("since=2026-03-05&until=2026-03-09", ["Checkout is broken", "alert(1)"],
         ["I love", "PILLS"]),
    ],
)  # fmt: skip
def test_filters_narrow_the_list(auth_client, seeded, query, shown, hidden):
    response = auth_client.get(f"/feedback/inbox?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in shown:
        assert text in html
    for text in hidden:
        assert text not in html


def test_a_bad_filter_is_named(auth_client, seeded):
    response = auth_client.get("/feedback/inbox?since=last-week")
    assert response.status_code == 400
    assert "since &#39;last-week&#39; is not a date like 2026-03-02" in response.get_data(
        as_text=True
    )


def test_spam_leaves_every_count_and_can_be_restored(client, engine, seeded, make_user):
    with Session(engine) as s:
        assert count_feedback(s) == 4
    login(client, "ed", make_user("ed", Role.EDITOR))
    page = client.get("/feedback/inbox").get_data(as_text=True)
    spam_id = seeded["f2"]
    marked = client.post(
        f"/feedback/inbox/{spam_id}/spam",
        data={"csrf_token": csrf_token_from(page), "spam": "1", "next": "/feedback/inbox?x=1"},
    )
    assert marked.status_code == 302 and marked.headers["Location"] == "/feedback/inbox?x=1"
    with Session(engine) as s:
        assert count_feedback(s) == 3
        assert sum(counts_by(s, "source").values()) == 3
        assert count_feedback(s, InboxFilter(source="form")) == 1
        assert count_feedback(s, InboxFilter(spam_only=True)) == 1
    assert "CHEAP PILLS" not in client.get("/feedback/inbox").get_data(as_text=True)
    assert "CHEAP PILLS" in client.get("/feedback/inbox?spam=only").get_data(as_text=True)
    client.post(
        f"/feedback/inbox/{spam_id}/spam", data={"csrf_token": csrf_token_from(page), "spam": "0"}
    )
    with Session(engine) as s:
        assert count_feedback(s) == 4 and s.get(Feedback, spam_id).spam is False


def test_the_api_leaves_spam_out(client, engine, seeded, make_token):
    with Session(engine) as s:
        item = s.get(Feedback, seeded["f2"])
        item.spam = True
        s.add(item)
        s.commit()
    body = client.get(
        "/api/v1/feedback?source=form", headers={"Authorization": f"Bearer {make_token()}"}
    ).get_json()
    assert body["total"] == 1 and "PILLS" not in body["items"][0]["text"]


def test_a_viewer_cannot_mark_spam(client, seeded, make_user):
    login(client, "vi", make_user("vi", Role.VIEWER))
    page = client.get("/feedback/inbox").get_data(as_text=True)
    assert "not spam" not in page and ">spam</button>" not in page
    response = client.post(
        f"/feedback/inbox/{seeded['f1']}/spam", data={"csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 403


def test_pages_of_fifty(auth_client, engine):
    items = [
        NewFeedback("api", FeedbackKind.API, f"note number {i:03d}", external_id=str(i),
                    created_at=datetime(2026, 3, 1, 0, i % 60, i // 60, tzinfo=UTC))
        for i in range(120)
    ]  # fmt: skip
    with Session(engine) as s:
        ingest(s, items, datetime(2026, 3, 2, tzinfo=UTC), Analyser())
        s.commit()
    first = auth_client.get("/feedback/inbox").get_data(as_text=True)
    assert "page 1 of 3 (120 items)" in first and "older →" in first
    last = auth_client.get("/feedback/inbox?page=3").get_data(as_text=True)
    assert last.count('class="feedback-text"') == 20 and "← newer" in last


def test_the_detail_page_shows_one_item_with_its_link(auth_client, seeded):
    html = auth_client.get(f"/feedback/inbox/{seeded['p1']}").get_data(as_text=True)
    assert "I love the new dashboard" in html and "forum (discourse)" in html
    assert 'href="https://forum.example.com/t/1"' in html
    assert auth_client.get("/feedback/inbox/999999").status_code == 404


def test_the_theme_filter_includes_themes_merged_into_it(auth_client, engine, seeded):
    now = datetime(2026, 3, 11, tzinfo=UTC)
    with Session(engine) as s:
        main = Theme(label="checkout failures", created_at=now, updated_at=now)
        s.add(main)
        s.flush()
        merged = Theme(label="lost data", created_at=now, updated_at=now, merged_into_id=main.id)
        s.add(merged)
        s.flush()
        for ext, theme in (("p1", main.id), ("p2", merged.id)):
            item = s.get(Feedback, seeded[ext])
            item.theme_id = theme
            s.add(item)
        s.commit()
        main_id, merged_id = main.id, merged.id
    html = auth_client.get(f"/feedback/inbox?theme={main_id}").get_data(as_text=True)
    assert "I love the new dashboard" in html and "Checkout is broken" in html
    assert "CHEAP PILLS" not in html
    assert f'<option value="{merged_id}"' not in html  # merged themes leave the menu
    assert auth_client.get("/feedback/inbox?theme=abc").status_code == 400
