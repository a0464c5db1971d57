"""rate/increase, *_over_time and histogram_quantile against hand-computed PromQL results."""

import math

import pytest

from collector.promql import evaluate_instant, evaluate_range
from collector.series import MemorySource, SeriesData

S = 1000  # ms per second


def counter(name: str, points: list[tuple[int, float]], **labels: str) -> SeriesData:
    return SeriesData(
        {"__name__": name, **labels}, [t * S for t, _ in points], [v for _, v in points]
    )


def value_at(expr: str, source: MemorySource, at_s: int) -> float:
    result = evaluate_instant(expr, source, at_s * S)
    assert len(result) == 1, result
    return result[0].value


def test_rate_extrapolates_to_both_range_boundaries():
    # Samples at 5,20,35,50 s: 10,25,40,55. Range (0s, 60s]. increase in samples = 45.
    # Average spacing 15 s, threshold 16.5 s: the 5 s to the start and 10 s to the end are
    # both within it, so extrapolate fully: 45 s sampled + 5 + 10 = 60 s.
    # Zero point: 45 s * 10/45 = 10 s > 5 s, no limit. increase = 45 * 60/45 = 60; rate = 1.
    source = MemorySource([counter("c_total", [(5, 10), (20, 25), (35, 40), (50, 55)])])
    assert value_at("increase(c_total[1m])", source, 60) == pytest.approx(60.0)
    assert value_at("rate(c_total[1m])", source, 60) == pytest.approx(1.0)


def test_rate_adds_the_value_before_a_counter_reset():
    # 5, 10, 2, 7 at 15..60 s: last-first = 2, plus 10 lost at the reset = 12.
    # To start 15 s (< 16.5 threshold); zero point 45 * 5/12 = 18.75 s > 15 s; to end 0.
    # increase = 12 * (45+15)/45 = 16; rate = 16/60.
    source = MemorySource([counter("c_total", [(15, 5), (30, 10), (45, 2), (60, 7)])])
    assert value_at("increase(c_total[1m])", source, 60) == pytest.approx(16.0)
    assert value_at("rate(c_total[1m])", source, 60) == pytest.approx(16 / 60)


def test_rate_extrapolates_only_half_an_interval_where_the_series_starts_late():
    # 100,110,120,130 at 30..60 s in (0, 60]: 30 s to the start >= 1.1 * 10 s, so the series
    # is taken to start half a spacing (5 s) before its first sample: 30 * 35/30 = 35.
    source = MemorySource([counter("c_total", [(30, 100), (40, 110), (50, 120), (60, 130)])])
    assert value_at("increase(c_total[1m])", source, 60) == pytest.approx(35.0)
    assert value_at("rate(c_total[1m])", source, 60) == pytest.approx(35 / 60)


def test_rate_never_extrapolates_below_zero():
    # 1, 21, 41 at 20,40,60 s: to start 20 s < 22 s threshold, but the counter was 0 at
    # 40 * 1/40 = 1 s before the first sample: increase = 40 * (40+1)/40 = 41.
    source = MemorySource([counter("c_total", [(20, 1), (40, 21), (60, 41)])])
    assert value_at("increase(c_total[1m])", source, 60) == pytest.approx(41.0)


def test_rate_needs_two_samples_and_ignores_samples_outside_the_range():
    # The range (60 s, 120 s] is left-open: the sample at 60 s is outside it.
    source = MemorySource([counter("c_total", [(60, 1), (120, 5)])])
    assert evaluate_instant("rate(c_total[1m])", source, 120 * S) == []
    # Over 2m both count: 4 over 60 s sampled; 60 s to the start is within the 66 s
    # threshold, but the zero point 60 * 1/4 = 15 s comes first: increase = 4 * (60+15)/60 = 5.
    assert value_at("increase(c_total[2m])", source, 120) == pytest.approx(5.0)


def test_rate_drops_the_metric_name_and_keeps_other_labels():
    source = MemorySource(
        [
            counter("c_total", [(0, 0), (30, 30), (60, 60)], code="200"),
            counter("c_total", [(0, 0), (30, 3), (60, 6)], code="500"),
        ]
    )
    # (0, 60] holds the samples at 30 and 60 s: 30 over 30 s; 30 s to the start is within the
    # 33 s threshold and the zero point is 30 * 30/30 = 30 s: increase = 30 * 60/30 = 60,
    # rate 1. For code 500 everything is a tenth.
    result = evaluate_instant("rate(c_total[1m])", source, 60 * S)
    assert [(dict(s.labels), s.value) for s in result] == [
        ({"code": "200"}, pytest.approx(1.0)),
        ({"code": "500"}, pytest.approx(0.1)),
    ]


def test_over_time_functions():
    # Samples 4, 8, 3, 9 at 15..60 s in (0, 60].
    source = MemorySource([counter("g", [(15, 4), (30, 8), (45, 3), (60, 9)])])
    assert value_at("avg_over_time(g[1m])", source, 60) == pytest.approx(6.0)  # 24/4
    assert value_at("max_over_time(g[1m])", source, 60) == 9
    assert value_at("min_over_time(g[1m])", source, 60) == 3
    assert value_at("sum_over_time(g[1m])", source, 60) == 24
    assert value_at("count_over_time(g[1m])", source, 60) == 4
    # (30 s, 60 s] holds 3 and 9 only (the sample at 30 s sits on the open edge).
    assert value_at("avg_over_time(g[30s])", source, 60) == pytest.approx(6.0)
    assert value_at("max_over_time(g[30s] offset 15s)", source, 60) == 8  # (15, 45]: 8, 3


def buckets(counts: dict[str, float], **labels: str) -> list[SeriesData]:
    return [
        SeriesData({"__name__": "h_bucket", "le": le, **labels}, [60 * S], [count])
        for le, count in counts.items()
    ]


HIST = {"0.1": 10, "0.5": 30, "1": 40, "+Inf": 50}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        # rank 25 falls in (0.1, 0.5] holding 20: 0.1 + 0.4 * (25-10)/20 = 0.4
        (0.5, 0.4),
        # rank 2.5 in the first bucket (0, 0.1] holding 10: 0.1 * 2.5/10 = 0.025
        (0.05, 0.025),
        # rank 47.5 beyond the highest finite bucket (40): the highest finite bound, 1
        (0.95, 1.0),
        # rank 40 = the count of le=1 exactly: 0.5 + 0.5 * (40-30)/10 = 1
        (0.8, 1.0),
        (1.5, math.inf),
        (-0.5, -math.inf),
    ],
)
def test_histogram_quantile_interpolates_within_the_bucket(q, expected):
    source = MemorySource(buckets(HIST, job="shop"))
    result = evaluate_instant(f"histogram_quantile({q}, h_bucket)", source, 60 * S)
    assert [dict(s.labels) for s in result] == [{"job": "shop"}]
    assert result[0].value == pytest.approx(expected)


def test_histogram_quantile_fixes_a_non_monotonic_bucket():
    # le=0.5 dipped to 8 (< 10 below it): it is raised to 10, so counts are 10,10,40,50.
    # rank 25 in (0.5, 1] holding 30: 0.5 + 0.5 * (25-10)/30 = 0.75
    source = MemorySource(buckets({"0.1": 10, "0.5": 8, "1": 40, "+Inf": 50}))
    assert value_at("histogram_quantile(0.5, h_bucket)", source, 60) == pytest.approx(0.75)


def test_histogram_quantile_edge_cases_give_nan_or_the_bound():
    no_inf = MemorySource(buckets({"0.1": 10, "1": 20}))
    assert math.isnan(value_at("histogram_quantile(0.5, h_bucket)", no_inf, 60))
    empty = MemorySource(buckets({"0.1": 0, "+Inf": 0}))
    assert math.isnan(value_at("histogram_quantile(0.5, h_bucket)", empty, 60))
    only_inf = MemorySource(buckets({"+Inf": 7}))
    assert math.isnan(value_at("histogram_quantile(0.5, h_bucket)", only_inf, 60))
    # The first bucket has a bound <= 0: its bound is the answer, no interpolation from 0.
    negative = MemorySource(buckets({"-1": 5, "1": 10, "+Inf": 10}))
    assert value_at("histogram_quantile(0.2, h_bucket)", negative, 60) == -1.0
    # le="1" and le="1.0" are the same bucket: their counts add up (10 + 10 = 20).
    twice = MemorySource(buckets({"1": 10, "1.0": 10, "2": 40, "+Inf": 40}))
    # rank 20 is reached at le=1 exactly: 0 + 1 * 20/20 = 1
    assert value_at("histogram_quantile(0.5, h_bucket)", twice, 60) == pytest.approx(1.0)


def test_histogram_quantile_of_rates_per_group():
    # Each bucket counter grows linearly over (0, 60]; rate keeps the ratios of the counts,
    # so the quantile equals that of the final counts: le 0.1: 6, 0.5: 18, +Inf: 24 per min.
    # q=0.5: rank 12 in (0.1, 0.5] holding 12: 0.1 + 0.4 * (12-6)/12 = 0.3
    series = []
    for le, per_min in {"0.1": 6, "0.5": 18, "+Inf": 24}.items():
        for route in ("/a", "/b"):
            points = [(t, per_min * t / 60) for t in (0, 15, 30, 45, 60)]
            series.append(counter("h_bucket", points, le=le, route=route))
    source = MemorySource(series)
    expr = "histogram_quantile(0.5, sum by (le, route) (rate(h_bucket[1m])))"
    result = evaluate_instant(expr, source, 60 * S)
    assert [dict(s.labels) for s in result] == [{"route": "/a"}, {"route": "/b"}]
    assert [s.value for s in result] == [pytest.approx(0.3), pytest.approx(0.3)]


def test_range_evaluation_steps_through_time():
    # A counter going up 2 per 15 s (0.1333/s) with a reset to 0 at 120 s.
    points = [(t, 2 * t / 15) for t in range(0, 120, 15)] + [(120, 0), (135, 2), (150, 4)]
    source = MemorySource([counter("c_total", points)])
    result = evaluate_range("rate(c_total[1m])", source, 60 * S, 150 * S, 30 * S)
    assert len(result) == 1
    assert result[0].labels == {}
    assert result[0].timestamps_ms == [60_000, 90_000, 120_000, 150_000]
    # at 60: samples 15..60 (2..8): 6 over 45 s, to start 15 s (< 16.5): 6*60/45 = 8 per 60 s.
    # at 120: samples 75..120: 10,12,14,0 -> 0-10 + 14 (reset) = 4 over 45 s -> 4*60/45.
    assert result[0].values[0] == pytest.approx(8 / 60)
    assert result[0].values[2] == pytest.approx(4 * 60 / 45 / 60)
