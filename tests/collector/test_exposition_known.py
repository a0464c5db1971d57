"""The scraper's path: series it already knows are read without re-parsing their labels."""

import pytest

from collector.errors import ParseError
from collector.exposition import parse_text

BODY = '# TYPE a counter\na{x="1"} 5\na{x="2"} 6 1700000000000\nb 7\nc{y="z"} 8\n'


def test_known_series_keep_value_timestamp_and_key_and_skip_their_labels():
    first = parse_text(BODY)
    known = set(first.keys[:3])
    again = parse_text(BODY.replace(" 5\n", " 50\n"), known)
    assert again.keys == first.keys
    assert [(s.name, s.value, s.timestamp_ms) for s in again.samples] == [
        ("a", 50.0, None),
        ("a", 6.0, 1700000000000),
        ("b", 7.0, None),
        ("c", 8.0, None),
    ]
    assert [s.labels for s in again.samples] == [{}, {}, {}, {"y": "z"}]
    assert [f.type for f in again.families] == ["counter"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [("a{x=\"1\"} five", "invalid value"), ("a{x=\"1\"} 1_0", "invalid value"),
     ("a{x=\"1\"} 1 2.5", "invalid timestamp"), ("a{x=\"1\"} 1 2 3", "unexpected text")],
)  # fmt: skip
def test_a_known_series_with_a_bad_value_is_still_an_error(line, reason):
    known = set(parse_text(BODY).keys)
    with pytest.raises(ParseError) as caught:
        parse_text(f"b 1\n{line}\n", known)
    assert caught.value.line == 2 and reason in caught.value.reason
