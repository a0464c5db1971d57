"""`opsloop scrape URL [--json]` against a real local server."""

import json

from click.testing import CliRunner

from opsloop.cli import cli
from tests.collector.metrics_server import Route, metrics_server

BODY = '# TYPE a gauge\na{x="1"} NaN\nb +Inf\nc -Inf 1700000000000\nd 2.5\n'


def test_scrape_json_prints_one_object_per_sample():
    with metrics_server({"/metrics": Route(body=BODY, gzip=True)}) as srv:
        result = CliRunner().invoke(cli, ["scrape", srv.url("/metrics"), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines == [
        {"name": "a", "labels": {"x": "1"}, "value": "NaN", "timestamp_ms": None},
        {"name": "b", "labels": {}, "value": "+Inf", "timestamp_ms": None},
        {"name": "c", "labels": {}, "value": "-Inf", "timestamp_ms": 1700000000000},
        {"name": "d", "labels": {}, "value": 2.5, "timestamp_ms": None},
    ]


def test_scrape_prints_a_summary():
    with metrics_server({"/metrics": Route(body=BODY)}) as srv:
        result = CliRunner().invoke(cli, ["scrape", srv.url("/metrics")])
    assert result.exit_code == 0
    assert "4 samples, 1 families (1 gauge), text format" in result.output


def test_a_failed_scrape_exits_1_with_the_reason():
    with metrics_server(
        {"/metrics": Route(body="ok 1\nbad{ 1\n"), "/down": Route(status=503)}
    ) as srv:
        bad = CliRunner().invoke(cli, ["scrape", srv.url("/metrics"), "--json"])
        down = CliRunner().invoke(cli, ["scrape", srv.url("/down")])
    assert bad.exit_code == 1 and "parse error: line 2:" in bad.output
    assert down.exit_code == 1 and "HTTP status 503" in down.output
