"""Differential tests on the real expositions of ../shared/fixtures/prometheus/."""

import math

from prometheus_client.parser import text_string_to_metric_families

from collector.exposition import parse_openmetrics, parse_text
from tests.conftest import fixture_path


def _reference(body):
    families = list(text_string_to_metric_families(body))
    samples = [
        (
            s.name,
            s.labels,
            "NaN" if math.isnan(s.value) else s.value,
            None if s.timestamp is None else int(float(s.timestamp) * 1000),
        )
        for f in families
        for s in f.samples
    ]
    return families, samples


def _mine(exposition):
    return [
        (s.name, s.labels, "NaN" if math.isnan(s.value) else s.value, s.timestamp_ms)
        for s in exposition.samples
    ]


def test_node_exporter_output_parses_to_the_same_samples_as_prometheus_client():
    body = fixture_path("prometheus", "node_exporter-e2e-output.txt").read_text()
    families, samples = _reference(body)
    parsed = parse_text(body)
    assert len(samples) == 3027  # the fixture README's count
    assert _mine(parsed) == samples
    assert len(parsed.families) == 1228
    types = [f.type for f in parsed.families]
    assert (types.count("counter"), types.count("gauge"), types.count("summary")) == (475, 418, 1)
    with_samples = {s.name for s in parsed.samples}
    empty = [f for f in parsed.families if not _has_samples(f, with_samples)]
    assert len(empty) == 47
    names = [f.name for f in parsed.families]
    assert "go_memstats_alloc_bytes" in names and "go_memstats_alloc_bytes_total" in names
    # help text is the same as the reference's documentation, family by family
    ref_help = {(f.name, f.documentation) for f in families if f.documentation}
    mine = {(_ref_name(f), f.help) for f in parsed.families if f.help}
    assert mine == ref_help


def _has_samples(family, names):
    suffixes = ("", "_total", "_sum", "_count", "_bucket", "_created")
    return any(family.name + s in names for s in suffixes) or family.name in names


def _ref_name(family):
    # prometheus_client names a counter family without its _total suffix
    if family.type == "counter" and family.name.endswith("_total"):
        return family.name[: -len("_total")]
    return family.name


def test_prometheus_alltypes_parses_to_the_same_samples_as_prometheus_client():
    body = fixture_path("prometheus", "prometheus-alltypes.237mfs.prom.txt").read_text()
    _families, samples = _reference(body)
    parsed = parse_text(body)
    assert len(samples) == 1857
    assert _mine(parsed) == samples
    types = [f.type for f in parsed.families]
    assert len(parsed.families) == 237
    assert [types.count(t) for t in ("counter", "gauge", "histogram", "summary")] == [
        112,
        97,
        15,
        13,
    ]


def test_the_openmetrics_fixture_is_accepted_as_prometheus_accepts_it():
    body = fixture_path("prometheus", "prometheus-alltypes.5mfs.om.txt").read_text()
    parsed = parse_openmetrics(body)
    sums = [s for s in parsed.samples if s.name == "rpc_durations_histogram_seconds_sum"]
    assert len(sums) == 1 and sums[0].value < 0  # negative _sum: what prometheus_client refuses
    negative = [s for s in parsed.samples if s.labels.get("le", "").startswith("-")]
    assert negative and all(s.name.endswith("_bucket") for s in negative)
    assert {f.name: f.type for f in parsed.families} == {
        "go_build_info": "gauge",
        "promhttp_metric_handler_errors": "counter",
        "rpc_durations_histogram_seconds": "histogram",
        "rpc_durations_seconds": "summary",
        "rpc_requests": "counter",
    }
    assert sum(1 for s in parsed.samples if s.exemplar is not None) > 0
    assert len(parsed.samples) == sum(1 for line in body.splitlines() if line[:1] != "#")
