"""RSS and Atom feeds read with feedparser from a local HTTP server."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from feedback.analysis import Analyser
from feedback.models import Feedback, FeedbackKind
from feedback.polling import poll_source, state_for
from feedback.sources import SourceConfig, SourceType
from tests.feedback.fake_sources import FakeSite, Reply, serve

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Comments</title><id>urn:comments</id><updated>2026-11-19T10:00:00Z</updated>
  <entry>
    <title>Checkout is slow</title>
    <id>urn:comment:1</id>
    <link href="https://blog.example.com/p/1#c1"/>
    <updated>2026-11-19T10:00:00Z</updated>
    <author><name>Ann</name></author>
    <content type="html">
      &lt;p&gt;The checkout page &lt;b&gt;times out&lt;/b&gt; for me.&lt;/p&gt;
    </content>
  </entry>
  <entry>
    <title>Thanks</title>
    <id>urn:comment:2</id>
    <updated>2026-11-19T11:00:00Z</updated>
    <summary>Love the new dark mode!</summary>
  </entry>
</feed>"""
RSS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Reviews</title><link>https://x.example</link>
  <description>d</description>
  <item><title>Search</title><link>https://x.example/r/7</link>
    <description>Search results are empty since Monday.</description>
    <pubDate>Wed, 18 Nov 2026 09:30:00 GMT</pubDate></item>
  <item><title>Broken item</title></item>
</channel></rss>"""


@pytest.fixture
def site():
    feeds = FakeSite()

    def atom(_query, headers):
        if headers.get("If-None-Match") == '"v1"':
            return Reply(304)
        return Reply(200, ATOM.encode(), {"Content-Type": "application/atom+xml", "ETag": '"v1"'})

    feeds.routes["/comments.atom"] = atom
    feeds.routes["/reviews.rss"] = lambda q, h: Reply(200, RSS.encode(), {})
    feeds.routes["/not-a-feed"] = lambda q, h: Reply(200, b"\x00\x01 nothing", {})
    with serve(feeds):
        yield feeds


def _feed(site, path, name="blog-comments"):
    return SourceConfig(name=name, type=SourceType.FEED, url=site.url + path, service="webshop")


def test_atom_entries_are_stored_once_and_an_unchanged_feed_costs_a_304(session, site):
    source = _feed(site, "/comments.atom")
    assert poll_source(session, source, NOW, Analyser()).added == 2
    rows = {f.external_id: f for f in session.exec(select(Feedback))}
    first = rows["urn:comment:1"]
    assert first.kind == FeedbackKind.FEED and first.source == "blog-comments"
    assert first.text == "Checkout is slow\n\nThe checkout page times out for me."
    assert first.author == "Ann" and first.url == "https://blog.example.com/p/1#c1"
    assert first.created_at == datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
    assert first.sentiment_label == "negative" and first.service == "webshop"
    assert state_for(session, "blog-comments").etag == '"v1"'

    again = poll_source(session, source, NOW + timedelta(hours=1), Analyser())
    assert again.added == 0 and again.details["not_modified"]
    assert site.requests[-1][1]["If-None-Match"] == '"v1"'


def test_rss_items_dedupe_on_their_link_and_items_without_id_are_skipped(session, site):
    source = _feed(site, "/reviews.rss", name="reviews")
    first = poll_source(session, source, NOW, Analyser())
    assert first.added == 1 and first.details["skipped"] == 1
    second = poll_source(session, source, NOW + timedelta(hours=1), Analyser())
    assert second.added == 0 and second.details["duplicates"] == 1
    (row,) = session.exec(select(Feedback)).all()
    assert row.external_id == "https://x.example/r/7"
    assert row.created_at == datetime(2026, 11, 18, 9, 30, tzinfo=UTC)


def test_a_document_that_is_no_feed_is_reported(session, site):
    report = poll_source(session, _feed(site, "/not-a-feed", name="junk"), NOW, Analyser())
    assert "not an RSS or Atom feed" in report.error
    missing = poll_source(session, _feed(site, "/gone", name="gone"), NOW, Analyser())
    assert "HTTP 404" in missing.error


def test_the_poll_and_cluster_commands_work_from_the_command_line(tmp_path, site):
    from tests.opsloop.test_cli import run_opsloop

    config = tmp_path / "opsloop.yaml"
    config.write_text(
        "feedback_sources:\n"
        f"  - {{name: comments, type: feed, url: '{site.url}/comments.atom'}}\n"
        f"  - {{name: broken, type: feed, url: '{site.url}/gone'}}\n"
    )
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "OPSLOOP_CONFIG": str(config)}
    polled = run_opsloop(["feedback", "poll", "comments"], env, tmp_path=tmp_path)
    assert polled.returncode == 0, polled.stderr
    assert "comments: 2 new" in polled.stdout
    again = run_opsloop(["feedback", "poll", "comments"], env, tmp_path=tmp_path)
    assert "not due yet" in again.stdout
    failing = run_opsloop(["feedback", "poll", "broken"], env, tmp_path=tmp_path)
    assert failing.returncode == 1 and "HTTP 404" in failing.stdout
    unknown = run_opsloop(["feedback", "poll", "nope"], env, tmp_path=tmp_path)
    assert unknown.returncode == 1 and "no configured source named nope" in unknown.stderr
    clustered = run_opsloop(["feedback", "cluster"], env, tmp_path=tmp_path)
    assert clustered.returncode == 0, clustered.stderr
    assert "clustered 2 feedback item(s)" in clustered.stdout
