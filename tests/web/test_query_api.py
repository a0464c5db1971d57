"""/api/v1/query and /api/v1/query_range over samples stored in the database."""

from dataclasses import dataclass, field

import pytest

from collector.landing import store_samples

S = 1000
T0 = 1_700_000_000  # seconds


@dataclass(frozen=True)
class Point:
    name: str
    value: float
    timestamp_ms: int | None
    labels: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def stored(engine):
    # Two counters every 15 s for 10 minutes: 200s grow 2/s, 500s grow 0.5/s.
    points = []
    for i in range(41):
        t_ms = (T0 + 15 * i) * S
        points.append(Point("req_total", 2.0 * 15 * i, t_ms, {"job": "shop", "code": "200"}))
        points.append(Point("req_total", 0.5 * 15 * i, t_ms, {"job": "shop", "code": "500"}))
    store_samples(engine, None, points, (T0 + 600) * S)
    return engine


def test_query_range_returns_a_prometheus_matrix(auth_client, stored):
    response = auth_client.get(
        "/api/v1/query_range",
        query_string={
            "expr": 'sum(rate(req_total{code=~"5.."}[1m])) / sum(rate(req_total[1m]))',
            "start": T0 + 300,
            "end": T0 + 600,
            "step": "150",
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "success"
    assert body["data"]["resultType"] == "matrix"
    # Rates are exact for counters sampled every 15 s: 0.5 / 2.5 = 0.2 at every step.
    assert body["data"]["result"] == [
        {"metric": {}, "values": [[T0 + 300, "0.2"], [T0 + 450, "0.2"], [T0 + 600, "0.2"]]}
    ]


def test_query_returns_a_vector_or_a_scalar(auth_client, stored):
    response = auth_client.get(
        "/api/v1/query",
        query_string={"expr": "sum by (code) (rate(req_total[2m]))", "time": T0 + 600},
    )
    result = response.get_json()["data"]["result"]
    assert response.get_json()["data"]["resultType"] == "vector"
    # Values are strings, as in Prometheus; extrapolation by 120/105 leaves float noise.
    assert [(r["metric"], r["value"][0], float(r["value"][1])) for r in result] == [
        ({"code": "200"}, T0 + 600, pytest.approx(2.0)),
        ({"code": "500"}, T0 + 600, pytest.approx(0.5)),
    ]
    # The raw counter keeps its name; the lookback finds the last sample (4.5 min old).
    old = auth_client.get(
        "/api/v1/query",
        query_string={"query": 'req_total{code="500"}', "time": "2023-11-14T22:27:50Z"},
    ).get_json()["data"]["result"]
    assert old == [
        {
            "metric": {"__name__": "req_total", "job": "shop", "code": "500"},
            "value": [T0 + 870, "300"],
        }
    ]
    scalar = auth_client.get("/api/v1/query", query_string={"expr": "1 / 8", "time": T0})
    assert scalar.get_json()["data"] == {"resultType": "scalar", "result": [T0, "0.125"]}


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"expr": "rate(req_total)", "time": T0}, 400, "parse error at char 6"),
        ({"expr": "sum(", "time": T0}, 400, "unexpected end of input"),
        ({"expr": "req_total[5m]", "time": T0}, 400, "range vector cannot be the result"),
        ({"expr": "req_total", "time": "yesterday"}, 400, "neither Unix seconds nor an RFC 3339"),
        ({"expr": "up", "start": T0, "end": T0 + 60}, 400, "'step' is required"),
        ({"expr": "up", "start": T0, "end": T0 + 60, "step": "-1"}, 400, "not a positive"),
        ({"expr": "up", "start": T0 + 60, "end": T0, "step": "1"}, 400, "end must not be before"),
        ({"expr": "up", "start": T0, "end": T0 + 86_400, "step": "1"}, 400, "maximum resolution"),
        ({"expr": "req_total / on () req_total", "time": T0 + 600}, 422, "duplicate series"),
    ],
)
def test_bad_queries_are_refused_with_the_reason(auth_client, stored, params, status, message):
    path = "/api/v1/query_range" if "start" in params else "/api/v1/query"
    response = auth_client.get(path, query_string=params)
    assert response.status_code == status
    body = response.get_json()
    assert body["status"] == "error"
    assert message in body["message"]


def test_the_parse_error_carries_the_position(auth_client, stored):
    response = auth_client.get("/api/v1/query", query_string={"expr": "sum(up) by (job"})
    assert response.status_code == 400
    assert response.get_json()["position"] == 15
