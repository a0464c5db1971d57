"""The feedback_sources section: the issue's example parses; mistakes are named."""

from pathlib import Path

import pytest

from core.config import parse_config
from feedback.errors import FeedbackConfigError
from feedback.sources import SourceType, load_sources, parse_duration_s

EXAMPLE = """
feedback_sources:
  - name: forum                 # used in /hooks/discourse/forum and as the feedback's source
    type: discourse
    url: https://forum.example.com/
    api_key: abc
    api_username: system
    webhook_secret: s3cret
    categories: [bugs, ideas]
    poll_interval: 5m
  - name: blog-comments
    type: feed
    url: https://example.com/comments.atom
"""


def test_the_issue_example_parses():
    forum, feed = load_sources(parse_config(EXAMPLE))
    assert forum.type is SourceType.DISCOURSE and forum.url == "https://forum.example.com"
    assert forum.categories == ("bugs", "ideas") and forum.poll_interval_s == 300
    assert forum.api_key == "abc" and forum.webhook_secret == "s3cret"
    assert feed.type is SourceType.FEED and feed.poll_interval_s == 300 and feed.max_pages == 10


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: f, type: rss, url: 'http://x'}", "type 'rss' is not one of"),
        ("{name: f, type: feed}", "url is required"),
        ("{name: f, type: feed, url: 'ftp://x'}", "must be an http"),
        ("{name: 'Bad Name', type: feed, url: 'http://x'}", "lower-case"),
        ("{name: form, type: feed, url: 'http://x'}", "not one of"),
        ("{name: f, type: discourse, url: 'http://x', api_key: k}", "go together"),
        ("{name: f, type: feed, url: 'http://x', poll_interval: 2s}", "at least 10s"),
        ("{name: f, type: feed, url: 'http://x', poll_interval: soon}", "not a duration"),
        ("{name: f, type: feed, url: 'http://x', max_pages: 0}", "max_pages"),
        ("{name: f, type: feed, url: 'http://x', colour: red}", "unknown key"),
    ],
)
def test_mistakes_name_the_file_the_entry_and_the_problem(entry, message):
    config = parse_config(f"feedback_sources:\n  - {entry}\n", Path("/etc/ops.yaml"))
    with pytest.raises(FeedbackConfigError, match=message) as info:
        load_sources(config)
    assert str(info.value).startswith("/etc/ops.yaml: feedback_sources[1]")


def test_names_are_unique():
    config = parse_config(
        "feedback_sources:\n"
        "  - {name: a, type: feed, url: 'http://x'}\n"
        "  - {name: a, type: feed, url: 'http://y'}\n"
    )
    with pytest.raises(FeedbackConfigError, match="used twice"):
        load_sources(config)


def test_durations_and_webhook_only_sources():
    assert [parse_duration_s(v) for v in (30, "45s", "5m", "2h", "1d")] == [
        30,
        45,
        300,
        7200,
        86400,
    ]
    (source,) = load_sources(
        parse_config(
            "feedback_sources:\n  - {name: f, type: discourse, url: 'http://x', poll_interval: off}"
        )
    )
    assert source.poll_interval_s is None
