import math

import pytest

from core.durations import (
    format_duration_ms,
    format_duration_s,
    parse_duration_ms,
    parse_duration_s,
)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("0", 0),
        ("0s", 0),
        ("500ms", 500),
        ("15s", 15_000),
        ("5m", 300_000),
        ("1h30m", 5_400_000),
        ("1d", 86_400_000),
        ("1w", 7 * 86_400_000),
        ("1y", 365 * 86_400_000),
        ("1y2w3d4h5m6s7ms", ((((365 + 14 + 3) * 24 + 4) * 60 + 5) * 60 + 6) * 1000 + 7),
        (" 2h ", 7_200_000),
    ],
)
def test_it_reads_prometheus_durations(text, ms):
    assert parse_duration_ms(text) == ms
    assert parse_duration_s(text) == ms / 1000


@pytest.mark.parametrize("value", ["", "soon", "5", "1.5h", "5 m", "-5m", "5M", "1h 30m", 30, None])
def test_anything_else_is_refused_with_an_example(value):
    with pytest.raises(ValueError, match=r"is not a duration \(write it like 30s, 5m, 1h30m\)"):
        parse_duration_s(value)


@pytest.mark.parametrize("text", ["1m5h", "30s1m", "1m1m", "5ms1s"])
def test_units_out_of_order_or_repeated_are_named_as_the_problem(text):
    with pytest.raises(ValueError, match="units must be in decreasing order, each at most once"):
        parse_duration_ms(text)


def test_bare_numbers_are_seconds_only_when_asked():
    assert parse_duration_s(30, bare_seconds=True) == 30.0
    assert parse_duration_s(0.25, bare_seconds=True) == 0.25
    assert parse_duration_s("45", bare_seconds=True) == 45.0
    assert parse_duration_ms("1.5", bare_seconds=True) == 1500
    assert parse_duration_s("5m", bare_seconds=True) == 300.0
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration_s("45")
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration_s(True, bare_seconds=True)


@pytest.mark.parametrize("number", [-1, math.inf, math.nan])
def test_bare_numbers_must_be_finite_and_not_negative(number):
    with pytest.raises(ValueError, match="seconds must be a finite number >= 0"):
        parse_duration_s(number, bare_seconds=True)


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0s"),
        (1, "1ms"),
        (1500, "1s500ms"),
        (300_000, "5m"),
        (5_400_000, "1h30m"),
        (3 * 86_400_000, "3d"),
        (7 * 86_400_000, "1w"),
        (365 * 86_400_000 + 86_400_000, "1y1d"),
        (-300_000, "-5m"),
    ],
)
def test_it_writes_the_shortest_prometheus_spelling(ms, text):
    assert format_duration_ms(ms) == text
    assert parse_duration_ms(text.lstrip("-")) == abs(ms)


def test_seconds_are_written_to_the_millisecond():
    assert format_duration_s(5400.0) == "1h30m"
    assert format_duration_s(0.25) == "250ms"
    assert format_duration_s(0.0) == "0s"
