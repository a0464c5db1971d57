"""Selectors, lookback, aggregation, operators and vector matching; parse errors and printing."""

import pytest

from collector.promql import (
    EvaluationError,
    ExpressionError,
    evaluate_instant,
    format_expr,
    parse_expr,
)
from collector.series import MemorySource, SeriesData

S = 1000
T = 600  # evaluation time, seconds


def gauge(name: str, value: float, at_s: int = T, **labels: str) -> SeriesData:
    return SeriesData({"__name__": name, **labels}, [at_s * S], [value])


SOURCE = MemorySource(
    [
        gauge("req", 10, job="api", code="200", instance="a"),
        gauge("req", 2, job="api", code="500", instance="a"),
        gauge("req", 30, job="api", code="200", instance="b"),
        gauge("req", 4, job="web", code="503", instance="c"),
        gauge("up", 1, job="api", instance="a"),
        gauge("up", 0, job="api", instance="b"),
        gauge("up", 1, job="web", instance="c"),
        gauge("limit", 20, job="api", instance="a"),
        gauge("limit", 20, job="api", instance="b"),
    ]
)


def run(expr: str, source: MemorySource = SOURCE) -> list[tuple[dict[str, str], float]]:
    return [(dict(s.labels), s.value) for s in evaluate_instant(expr, source, T * S)]


def test_matchers_equal_not_equal_regex_and_negated_regex():
    assert [v for _, v in run('req{job="api",code!="200"}')] == [2]
    assert [v for _, v in run('req{code=~"5.."}')] == [2, 4]
    assert [v for _, v in run('req{code!~"5..", instance!="b"}')] == [10]
    # Regexes are anchored: "5" alone matches no code.
    assert run('req{code=~"5"}') == []
    # A selector keeps the metric name.
    assert run('up{instance="c"}') == [({"__name__": "up", "job": "web", "instance": "c"}, 1)]


def test_instant_selectors_look_back_five_minutes_left_open():
    source = MemorySource(
        [
            gauge("g", 1, at_s=T - 299, k="fresh"),
            gauge("g", 2, at_s=T - 300, k="edge"),  # exactly 5 m old: outside (t-5m, t]
            gauge("g", 3, at_s=T + 1, k="future"),
        ]
    )
    assert run("g", source) == [({"__name__": "g", "k": "fresh"}, 1)]
    assert [lb["k"] for lb, _ in run("g offset 1s", source)] == ["edge", "fresh"]


def test_sum_avg_max_min_count_by_and_without():
    assert run("sum by (job) (req)") == [({"job": "api"}, 42), ({"job": "web"}, 4)]
    assert run("sum(req) by (job)") == [({"job": "api"}, 42), ({"job": "web"}, 4)]
    assert run("avg by (job) (req)") == [({"job": "api"}, 14), ({"job": "web"}, 4)]  # 42/3
    assert run("max(req)") == [({}, 30)]
    assert run("min(req)") == [({}, 2)]
    assert run("count by (code) (req)") == [
        ({"code": "200"}, 2),
        ({"code": "500"}, 1),
        ({"code": "503"}, 1),
    ]
    # without drops the listed labels and the name: 10+30 for code 200 of job api.
    assert run('sum without (instance) (req{job="api"})') == [
        ({"code": "200", "job": "api"}, 40),
        ({"code": "500", "job": "api"}, 2),
    ]


def test_arithmetic_with_scalars_drops_the_name_and_respects_precedence():
    assert run('req{instance="c"} * 2 + 1') == [({"job": "web", "code": "503", "instance": "c"}, 9)]
    assert run("1 + 2 * 3 - 4 / 2") == [({}, 5)]  # 1 + 6 - 2
    assert run("2 ^ 3 ^ 2") == [({}, 512)]  # right-associative: 2^9
    assert run("-2 ^ 2") == [({}, -4)]
    assert run("(1 + 2) * 3") == [({}, 9)]
    assert run("10 % 4") == [({}, 2)]


def test_comparisons_filter_or_return_bool():
    # A filter keeps the series and its name; bool gives 0/1 and drops the name.
    assert run("up == 0") == [({"__name__": "up", "job": "api", "instance": "b"}, 0)]
    assert [v for _, v in run("up == bool 0")] == [0, 1, 0]
    assert all("__name__" not in lb for lb, _ in run("up == bool 0"))
    # A scalar on the left still keeps the vector's value: 5 < req keeps 10, 30.
    assert [v for _, v in run("5 < req")] == [10, 30]
    assert run("3 > bool 2") == [({}, 1)]


def test_one_to_one_matching_by_all_labels_on_and_ignoring():
    # up / limit match on (job, instance): a 1/20, b 0/20.
    assert run("up / limit") == [
        ({"job": "api", "instance": "a"}, 0.05),
        ({"job": "api", "instance": "b"}, 0),
    ]
    # sum by (job) of errors over sum by (job) of all: api 2/42, web 4/4.
    ratio = run('sum by (job) (req{code=~"5.."}) / sum by (job) (req)')
    assert ratio == [({"job": "api"}, pytest.approx(2 / 42)), ({"job": "web"}, 1)]
    # on(instance) keeps only instance; ignoring(code) keeps the rest.
    assert run('req{code="500"} - on (instance) up') == [({"instance": "a"}, 1)]
    assert run('req{code="500"} + ignoring (code) up') == [({"job": "api", "instance": "a"}, 3)]
    # Comparisons between vectors filter the left side: up > limit keeps nothing,
    # limit > up keeps both limits with their names.
    assert run("up > limit") == []
    assert [v for _, v in run("limit > up")] == [20, 20]


def test_many_to_many_matching_is_an_error_that_says_so():
    with pytest.raises(EvaluationError, match="duplicate series"):
        run("up / on (job) req")
    with pytest.raises(EvaluationError, match="same labelset"):
        # abs() drops the names of up and limit of instance b, leaving equal label sets.
        run('abs({job="api", instance="b"})')


def test_and_or_unless_match_on_labels_without_the_name():
    assert [lb["instance"] for lb, _ in run("limit and up == 1")] == ["a"]
    assert [lb["instance"] for lb, _ in run("limit unless up == 1")] == ["b"]
    # or: every left element, plus right ones whose labels the left lacks (c of job web).
    both = run('limit or up{job="web"}')
    assert [(lb["__name__"], lb["instance"]) for lb, _ in both] == [
        ("limit", "a"),
        ("limit", "b"),
        ("up", "c"),
    ]


def test_functions_time_vector_scalar_abs():
    assert run("time()") == [({}, T)]
    assert run("vector(3)") == [({}, 3)]
    assert run('scalar(up{instance="c"}) * 5') == [({}, 5)]
    assert run('abs(up{instance="b"} - 2)') == [({"job": "api", "instance": "b"}, 2)]


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("rate(req)", 5, "expected type range vector in call to function 'rate'"),
        ("req{job=", 8, "expected a quoted string"),
        ("sum(req", 7, "expected ')'"),
        ('req{a=~"("}', 7, "invalid regular expression"),
        ("1 > 2", 2, "comparisons between scalars must use BOOL"),
        ("up and 1", 3, "set operator 'and' not allowed"),
        ("req[5m] * 2", 8, "binary expression must contain only scalar and instant vector"),
        ('{job=~".*"}', 0, "at least one non-empty matcher"),
        ("nope(req)", 0, "unknown function"),
        ("req +", 5, "unexpected end of input"),
        ("req[5m]", 0, "range vector cannot be the result"),
        ('up{a="x}', 5, "unterminated quoted string"),
        ("up[1m5h]", 3, "decreasing order"),
    ],
)
def test_bad_expressions_name_the_position_and_the_problem(text, position, reason):
    with pytest.raises(ExpressionError) as caught:
        evaluate_instant(text, SOURCE, T * S)
    assert caught.value.position == position
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        'sum by (job) (rate(http_requests_total{code=~"5..",job="shop"}[5m])) '
        "/ sum by (job) (rate(http_requests_total[5m]))",
        "histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m] offset 1h)))",
        "a - (b - c) * -d",
        "(a or b) and on (x) c unless ignoring (y, z) d",
        "a > bool 0.25",
        '{__name__="sum", a="q\\"uote"}',
        "max without (instance) (avg_over_time(up[1h30m]))",
    ],
)
def test_format_expr_gives_text_that_parses_to_the_same_tree(text):
    tree = parse_expr(text)
    assert parse_expr(format_expr(tree)) == tree
