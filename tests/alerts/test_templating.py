"""Label and annotation templates render as Prometheus renders them."""

import math

import pytest

from alerts.errors import TemplateError
from alerts.templating import (
    TemplateData,
    humanize,
    humanize_duration,
    humanize_percentage,
    parse_template,
    render,
)

DATA = TemplateData(labels={"instance": "db:5432", "job": "db"}, value=0.0734)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ $labels.instance }} of {{ $labels.job }}", "db:5432 of db"),
        ("{{ .Labels.job }} = {{ .Value }}", "db = 0.0734"),
        ("{{ $value }}", "0.0734"),
        ("{{ $value | humanizePercentage }}", "7.34%"),
        ("{{ humanizePercentage $value }}", "7.34%"),
        ('{{ printf "%.1f" $value }}', "0.1"),
        ("{{ $labels.job | toUpper }}", "DB"),
        ("{{ $labels.missing }}", "<no value>"),
        ("a {{- $labels.job -}} b", "adbb"),
        ("no actions", "no actions"),
    ],
)
def test_it_renders_the_prometheus_subset(source, expected):
    assert render(source, DATA) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "0"), (1234567, "1.235M"), (0.000123, "123u"), (999, "999"), (-2500, "-2.5k")],
)
def test_humanize_uses_si_prefixes(value, expected):
    assert humanize(value) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0s"),
        (0.25, "250ms"),
        (1.5, "1.5s"),
        (65, "1m 5s"),
        (3725, "1h 2m 5s"),
        (90061, "1d 1h 1m 1s"),
        (-65, "-1m 5s"),
    ],
)
def test_humanize_duration_matches_prometheus(seconds, expected):
    assert humanize_duration(seconds) == expected


def test_humanize_percentage_and_special_values():
    assert humanize_percentage(0.5) == "50%"
    assert humanize(math.inf) == "+Inf"
    assert render("{{ $value }}", TemplateData({}, math.nan)) == "NaN"
    assert render("{{ $value }}", TemplateData({}, 3.0)) == "3"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{{ if $value }}x{{ end }}", "not supported"),
        ("{{ nosuch }}", "unknown name"),
        ("{{ humanize }}", "needs an argument"),
        ("{{ $value | $labels.job }}", "cannot follow"),
        ("{{ $labels.job ", "unclosed"),
        ("{{ }}", "empty action"),
    ],
)
def test_bad_templates_are_refused_with_the_reason(source, problem):
    with pytest.raises(TemplateError, match=problem):
        parse_template(source)


def test_a_non_number_given_to_humanize_fails_at_render_time():
    with pytest.raises(TemplateError, match="expected a number"):
        render("{{ humanize $labels.job }}", DATA)
