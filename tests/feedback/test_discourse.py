"""Polling a Discourse forum: the real payloads replayed by a local HTTP server."""

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from feedback.analysis import Analyser
from feedback.discourse import cooked_to_text, post_to_feedback
from feedback.models import Feedback, FeedbackKind
from feedback.polling import poll_source, state_for
from feedback.sources import SourceConfig, SourceType
from tests.conftest import fixture_path
from tests.feedback.fake_sources import FakeSite, Reply, json_reply, serve

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _load(name):
    return json.loads(fixture_path("discourse", name).read_text())["latest_posts"]


@pytest.fixture
def forum():
    """/posts.json serves posts_latest.json; ?before=N the posts of posts_before.json below N."""
    latest, before = _load("posts_latest.json"), _load("posts_before.json")
    site = FakeSite()
    site.latest = latest  # tests may replace the first page

    def posts(query, _headers):
        if "before" in query:
            limit = int(query["before"][0])
            return json_reply({"latest_posts": [p for p in before if p["id"] < limit]})
        return json_reply({"latest_posts": site.latest})

    site.routes["/posts.json"] = posts
    site.routes["/categories.json"] = lambda q, h: json_reply(
        {"category_list": {"categories": [{"id": 1, "slug": "bugs"}, {"id": 3, "slug": "ideas"}]}}
    )
    with serve(site):
        yield site


def _source(forum, **extra):
    return SourceConfig(name="forum", type=SourceType.DISCOURSE, url=forum.url, **extra)


def _stored(session):
    return {f.external_id: f for f in session.exec(select(Feedback))}


def test_the_first_poll_catches_up_then_only_new_posts_are_fetched(session, forum):
    source = _source(forum)
    report = poll_source(session, source, NOW, Analyser())
    assert report.error is None and report.added == 4
    stored = _stored(session)
    assert sorted(stored, key=int) == ["2", "10", "14", "15"]
    post = stored["15"]
    assert post.text == "holla bullhonky." and post.author == "johndoe"
    assert post.kind == FeedbackKind.DISCOURSE and post.source == "forum"
    assert post.url == f"{forum.url}/t/this-is-an-uncategorized-title/11/2"
    assert post.created_at == datetime(2020, 1, 25, 2, 10, 7, 971000, tzinfo=UTC)
    # the catch-up paged back from the oldest post of the first page until nothing was left
    assert [path for path, _ in forum.requests] == ["/posts.json", "/posts.json?before=2"]
    assert state_for(session, "forum").high_water_mark == "15"

    newer = copy.deepcopy(forum.latest[0])
    newer.update(id=16, raw="The checkout times out since the update", post_number=3)
    forum.latest = [newer, *forum.latest]
    forum.requests.clear()
    report = poll_source(session, source, NOW + timedelta(minutes=10), Analyser())
    assert report.added == 1
    assert [path for path, _ in forum.requests] == ["/posts.json"]
    assert _stored(session)["16"].sentiment < 0


def test_a_catch_up_is_bounded_per_poll_and_resumes(session, forum):
    forum.latest = forum.latest[:1]  # a first page holding only the newest post
    source = _source(forum, max_pages=1)
    assert poll_source(session, source, NOW, Analyser()).added == 1
    assert state_for(session, "forum").backfill_cursor == "15"
    # a catch-up under way is due again at once, whatever the poll interval
    second = poll_source(session, source, NOW + timedelta(seconds=1), Analyser())
    assert second.added == 3
    assert state_for(session, "forum").backfill_cursor == "2"
    third = poll_source(session, source, NOW + timedelta(seconds=2), Analyser())
    assert third.added == 0 and state_for(session, "forum").backfill_cursor is None
    assert [p for p, _ in forum.requests] == [
        "/posts.json",
        "/posts.json?before=15",
        "/posts.json?before=2",
    ]
    assert len(_stored(session)) == 4


def test_overlapping_pages_never_store_a_post_twice(session, forum):
    before = _load("posts_before.json")
    forum.routes["/posts.json"] = lambda q, h: json_reply(
        {"latest_posts": before if "before" in q else forum.latest}
    )
    report = poll_source(session, _source(forum), NOW, Analyser())
    assert report.added == 4 and report.error is None
    assert len(session.exec(select(Feedback)).all()) == 4


def test_a_429_is_honoured_and_the_next_poll_waits(session, forum):
    forum.queued.append(Reply(429, b"slow down", {"Retry-After": "120"}))
    source = _source(forum)
    report = poll_source(session, source, NOW, Analyser())
    assert report.added == 0 and "429" in report.error
    state = state_for(session, "forum")
    assert state.retry_after_until == NOW + timedelta(seconds=120)
    assert "429" in state.last_error

    requests_so_far = len(forum.requests)
    early = poll_source(session, source, NOW + timedelta(seconds=60), Analyser(), force=True)
    assert early.skipped and len(forum.requests) == requests_so_far

    later = poll_source(session, source, NOW + timedelta(seconds=121), Analyser())
    assert later.added == 4 and later.error is None
    assert state_for(session, "forum").last_error is None


def test_api_credentials_are_sent_and_categories_filter_posts(session, forum):
    source = _source(forum, api_key="k3y", api_username="system", categories=("bugs",))
    report = poll_source(session, source, NOW, Analyser())
    assert report.added == 3  # post 2 is in category 3 ("ideas")
    assert "2" not in _stored(session)
    assert all(h.get("Api-Key") == "k3y" for _, h in forum.requests)
    assert all(h.get("Api-Username") == "system" for _, h in forum.requests)


def test_a_forum_that_answers_junk_is_recorded_as_an_error(session, forum):
    forum.routes["/posts.json"] = lambda q, h: Reply(200, b"<html>maintenance</html>")
    report = poll_source(session, _source(forum), NOW, Analyser())
    assert "not JSON" in report.error
    assert "not JSON" in state_for(session, "forum").last_error
    assert session.exec(select(Feedback)).all() == []


def test_cooked_html_becomes_plain_text_when_raw_is_absent():
    post = _load("posts_latest.json")[0] | {"raw": None}
    post["cooked"] = (
        "<p>Checkout &amp; cart <b>fail</b></p><aside class='quote'>old</aside><p>x</p>"
    )
    item = post_to_feedback(SourceConfig("forum", SourceType.DISCOURSE, "http://f"), post)
    assert item.text == "Checkout & cart fail\nx"
    assert cooked_to_text("<script>alert(1)</script><p>a&lt;b</p>") == "a<b"
