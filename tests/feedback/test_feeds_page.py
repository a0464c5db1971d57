"""The feedback sources page: configured sources, webhook URL, last poll, poll now."""

from datetime import UTC, datetime

import pytest

from core.config import RawConfig
from core.models import Role
from tests.conftest import csrf_token_from, login
from tests.feedback.fake_sources import FakeSite, Reply, serve

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>c</title><id>urn:c</id>
<updated>2026-11-19T10:00:00Z</updated>
<entry><title>Slow search</title><id>urn:c:1</id><updated>2026-11-19T10:00:00Z</updated>
<summary>Search is slow.</summary></entry></feed>"""


@pytest.fixture
def site():
    feeds = FakeSite()
    feeds.routes["/c.atom"] = lambda q, h: Reply(200, ATOM.encode(), {})
    with serve(feeds):
        yield feeds


@pytest.fixture
def raw_config(site):
    return RawConfig(
        data={
            "feedback_sources": [
                {"name": "comments", "type": "feed", "url": f"{site.url}/c.atom"},
                {"name": "broken", "type": "feed", "url": f"{site.url}/gone"},
                {
                    "name": "forum",
                    "type": "discourse",
                    "url": "https://forum.example.com",
                    "webhook_secret": "s",
                    "poll_interval": "off",
                },
            ]
        }
    )


def test_the_page_shows_sources_with_their_webhook_and_poll_state(auth_client):
    html = auth_client.get("/feedback/sources/").get_data(as_text=True)
    assert "comments" in html and "forum" in html
    assert "/hooks/discourse/forum" in html
    assert "off (webhooks only)" in html
    token = csrf_token_from(html)

    polled = auth_client.post("/feedback/sources/comments/poll", data={"csrf_token": token})
    assert polled.status_code == 303
    html = auth_client.get("/feedback/sources/").get_data(as_text=True)
    assert "comments: 1 new item(s)." in html

    auth_client.post("/feedback/sources/broken/poll", data={"csrf_token": token})
    html = auth_client.get("/feedback/sources/").get_data(as_text=True)
    assert "HTTP 404" in html and 'badge bad">error' in html
    assert (
        auth_client.post("/feedback/sources/nope/poll", data={"csrf_token": token}).status_code
        == 404
    )


def test_a_viewer_cannot_trigger_a_poll(client, make_user, site):
    login(client, "v", make_user("v", Role.VIEWER))
    token = csrf_token_from(client.get("/feedback/sources/").get_data(as_text=True))
    assert (
        client.post("/feedback/sources/comments/poll", data={"csrf_token": token}).status_code
        == 403
    )
    assert site.requests == []


def _add(client, token, **fields):
    data = {"csrf_token": token, "type": "feed", **fields}
    return client.post("/feedback/sources/save", data=data)


def test_an_admin_adds_changes_and_removes_a_source(auth_client, site, runtime, engine):
    token = csrf_token_from(auth_client.get("/feedback/sources/new").get_data(as_text=True))
    added = _add(auth_client, token, name="more", url=f"{site.url}/c.atom", poll_interval="1m")
    assert added.status_code == 303
    html = auth_client.get("/feedback/sources/").get_data(as_text=True)
    assert "more" in html and "added here" in html

    # the scheduled poll job picks it up with the config file's sources
    from feedback.runs import FeedbackRuns

    reports = {r.source: r for r in FeedbackRuns.from_config(runtime.config).poll_all(engine, NOW)}
    assert reports["more"].added == 1  # each source stores the entry under its own name
    assert set(reports) == {"comments", "broken", "forum", "more"}
    assert reports["forum"].skipped  # webhooks only

    form = auth_client.get("/feedback/sources/more/edit").get_data(as_text=True)
    assert f"{site.url}/c.atom" in form
    changed = _add(auth_client, token, name="more", url=f"{site.url}/d.atom", editing="more")
    assert changed.status_code == 303
    assert f"{site.url}/d.atom" in auth_client.get("/feedback/sources/").get_data(as_text=True)

    removed = auth_client.post("/feedback/sources/more/delete", data={"csrf_token": token})
    assert removed.status_code == 303
    assert auth_client.get("/feedback/sources/more/edit").status_code == 404


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "x", "url": "ftp://x"}, "must be an http"),
        ({"name": "comments", "url": "http://x"}, "used by the config file"),
        ({"name": "x", "url": "http://x", "max_pages": "lots"}, "max_pages"),
        ({"name": "x", "url": "http://x", "poll_interval": "1s"}, "at least 10s"),
        ({"name": "x", "url": "http://x", "poll_interval": "soon"}, "is not a duration"),
    ],
)
def test_a_bad_source_is_refused_with_the_reason(auth_client, fields, message):
    token = csrf_token_from(auth_client.get("/feedback/sources/new").get_data(as_text=True))
    response = _add(auth_client, token, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_config_sources_cannot_be_changed_here_and_editors_cannot_add(client, make_user):
    login(client, "ed", make_user("ed", Role.EDITOR))
    assert client.get("/feedback/sources/new").status_code == 403
    login(client, "ad", make_user("ad", Role.ADMIN))
    assert client.get("/feedback/sources/comments/edit").status_code == 403
