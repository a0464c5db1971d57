"""The feedback sources page: configured sources, webhook URL, last poll, poll now."""

import pytest

from core.config import RawConfig
from core.models import Role
from tests.conftest import csrf_token_from, login
from tests.feedback.fake_sources import FakeSite, Reply, serve

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
