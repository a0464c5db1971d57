"""The text and OpenMetrics parsers, case by case, checked against prometheus_client."""

import math

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as om_reference,
)
from prometheus_client.parser import text_string_to_metric_families as text_reference

from collector.errors import ParseError
from collector.exposition import format_of, parse, parse_openmetrics, parse_text


def flat(exposition):
    return [(s.name, s.labels, _v(s.value), s.timestamp_ms) for s in exposition.samples]


def reference(body, openmetrics=False):
    families = (om_reference if openmetrics else text_reference)(body)
    return [
        (
            s.name,
            s.labels,
            _v(s.value),
            None if s.timestamp is None else int(float(s.timestamp) * 1000),
        )
        for f in families
        for s in f.samples
    ]


def _v(value):
    return "NaN" if math.isnan(value) else value


TEXT_CASES = {
    "escapes": 'a{path="C:\\\\dir",msg="say \\"hi\\"",nl="x\\ny",odd="\\q"} 1\n',
    "special values": "a NaN\nb +Inf\nc -Inf\nd 1e3\ne -0.5\n",
    "ms timestamps": 'a 1 1712000000123\nb{x="y"} 2 -5\n',
    "histogram": (
        '# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_bucket{le="+Inf"} 3\nh_sum 0.7\nh_count 3\n'
    ),
    "summary": '# TYPE s summary\ns{quantile="0.5"} NaN\ns_sum 0\ns_count 0\n',
    "spaces and tabs": 'a{ x="1" , y="2" , }\t3\t 7\n  b 4\n',
    "gauge and counter share a base name": (
        "# TYPE go_memstats_alloc_bytes gauge\ngo_memstats_alloc_bytes 5\n"
        "# TYPE go_memstats_alloc_bytes_total counter\ngo_memstats_alloc_bytes_total 9\n"
    ),
    "quoted utf-8 name": '{"my.metric", "label.name"="v"} 1\n# TYPE "other.one" gauge\n',
    "empty label block": "a{} 1\n",
}


@pytest.mark.parametrize("body", TEXT_CASES.values(), ids=TEXT_CASES.keys())
def test_the_text_parser_reads_what_prometheus_client_reads(body):
    assert flat(parse_text(body)) == reference(body)


def test_text_help_and_type_are_kept_even_without_samples():
    body = (
        "# HELP a The a.\\nSecond line, a \\\\ backslash.\n# TYPE a counter\n"
        "# HELP b Only help.\n# just a comment\n"
    )
    parsed = parse_text(body)
    assert parsed.samples == []
    assert [(f.name, f.type, f.help) for f in parsed.families] == [
        ("a", "counter", "The a.\nSecond line, a \\ backslash."),
        ("b", "unknown", "Only help."),
    ]


def test_the_same_base_name_as_gauge_and_counter_are_two_families():
    parsed = parse_text(TEXT_CASES["gauge and counter share a base name"])
    assert parsed.kinds() == {
        "go_memstats_alloc_bytes": "gauge",
        "go_memstats_alloc_bytes_total": "counter",
    }


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        ('a 1\nb{x="1" 2\n', 2, "expected , or }"),
        ('a 1\n\nc{x="1",x="2"} 1\n', 3, "duplicate label name"),
        ("a 1\nb one\n", 2, "invalid value 'one'"),
        ("a 1_000\n", 1, "invalid value"),
        ("a 1 1.5\n", 1, "invalid timestamp"),
        ('a{x="1} 1\n', 1, "unterminated"),
        ("a 1 2 3\n", 1, "unexpected text"),
        ("# TYPE a histogramm\n", 1, "unknown metric type"),
        ("a\n", 1, "missing value"),
        ('a{1x="1"} 1\n', 1, "invalid label name"),
    ],
)
def test_malformed_text_names_the_line_and_the_reason(body, line, reason):
    with pytest.raises(ParseError) as caught:
        parse_text(body)
    assert caught.value.line == line
    assert reason in caught.value.reason


OM_BODY = """\
# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
# HELP acme_http_router_request_seconds Latency \\"quoted\\" \\\\ and\\nnewline.
acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
# TYPE go_goroutines gauge
go_goroutines 69 1605281325.123
# TYPE foo counter
foo_total 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67
foo_created 1520872607.123 1520879607.789
# TYPE bar histogram
bar_bucket{le="0.1"} 8 # {trace_id="a"} 0.05 1520879607.789
bar_bucket{le="+Inf"} 10
bar_count 10
bar_sum 1.5
# TYPE build info
build_info{version="1.2"} 1
# TYPE state stateset
state{state="a"} 1
state{state="b"} 0
# TYPE nothing gauge
# HELP nothing Metadata only.
# TYPE weird unknown
weird NaN
weird2{x="y"} -Inf
# EOF
"""


def test_the_openmetrics_parser_reads_what_prometheus_client_reads():
    assert flat(parse_openmetrics(OM_BODY)) == reference(OM_BODY, openmetrics=True)


def test_openmetrics_metadata_exemplars_and_second_timestamps():
    parsed = parse_openmetrics(OM_BODY)
    fam = {f.name: f for f in parsed.families}
    assert fam["acme_http_router_request_seconds"].unit == "seconds"
    assert fam["acme_http_router_request_seconds"].help == 'Latency "quoted" \\ and\nnewline.'
    assert fam["nothing"].type == "gauge" and fam["nothing"].help == "Metadata only."
    assert (fam["build"].type, fam["state"].type) == ("info", "stateset")
    by_name = {s.name: s for s in parsed.samples}
    assert by_name["go_goroutines"].timestamp_ms == 1605281325123
    foo = by_name["foo_total"]
    assert foo.timestamp_ms == 1520879607789
    assert foo.exemplar.labels == {"trace_id": "KOO5S4vxi0o"} and foo.exemplar.value == 0.67
    first_bucket = next(s for s in parsed.samples if s.name == "bar_bucket")
    assert first_bucket.exemplar.timestamp_ms == 1520879607789
    assert parsed.kinds()["bar_bucket"] == "histogram"


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        ("a 1\n", 1, "missing # EOF"),
        ("a 1\n# EOF\nb 2\n", 3, "after # EOF"),
        ("a 1\n\n# EOF\n", 2, "empty line"),
        ("# random comment\n# EOF\n", 1, "unknown comment"),
        ("# TYPE a_seconds gauge\n# UNIT a_seconds bytes\n# EOF\n", 2, "not a suffix"),
        ('a{x="1"} 1 # {id="1"}\n# EOF\n', 1, "exemplar needs a value"),
        ("a 1 two\n# EOF\n", 1, "invalid"),
    ],
)
def test_malformed_openmetrics_names_the_line_and_the_reason(body, line, reason):
    with pytest.raises(ParseError) as caught:
        parse_openmetrics(body)
    assert (caught.value.line, reason in caught.value.reason) == (line, True), caught.value


def test_the_content_type_chooses_the_parser():
    assert format_of("application/openmetrics-text; version=1.0.0; charset=utf-8") == (
        "openmetrics"
    )
    assert format_of("text/plain; version=0.0.4; charset=utf-8") == "text"
    assert format_of(None) == "text"
    body = "a 1 1.5\n# EOF\n"  # seconds in OpenMetrics, not an integer of ms in text
    assert flat(parse(body, "application/openmetrics-text; version=1.0.0")) == [
        ("a", {}, 1.0, 1500)
    ]
    with pytest.raises(ParseError, match="invalid timestamp"):
        parse(body, "text/plain; version=0.0.4")
