"""Services from config and from jobs, their signals, health, error budgets and burn rates."""

from pathlib import Path

import pytest

from collector.errors import ServiceConfigError
from collector.health import HealthState, service_health
from collector.promql import evaluate_instant
from collector.series import MemorySource, SeriesData
from collector.services import (
    SliKind,
    load_services,
    resolve_conventions,
    service_for_job,
    services_with_jobs,
    signal_expr,
)
from collector.slo import (
    BURN_WINDOWS,
    burn_rates,
    error_budget,
    error_ratio_expr,
    request_rate_expr,
)
from core.config import parse_config

S = 1000
NOW_S = 4 * 86_400  # four days of data, one sample every 15 s
STEP_S = 15


def linear(name: str, per_s: float, start_s: int = 0, **labels: str) -> SeriesData:
    """A counter growing by `per_s` each second, sampled every 15 s up to NOW.

    With samples every 15 s, rate() over any window ending on a sample gives exactly per_s:
    the first sample sits 15 s (< 1.1 x 15 s) after the window start, so the increase is
    extrapolated over the whole window.
    """
    times = list(range(start_s, NOW_S + 1, STEP_S))
    return SeriesData(
        {"__name__": name, **labels}, [t * S for t in times], [per_s * t for t in times]
    )


def gauge(name: str, values: list[float], **labels: str) -> SeriesData:
    """A gauge whose last len(values) samples (every 15 s up to NOW) are `values`."""
    times = [NOW_S - STEP_S * (len(values) - 1 - i) for i in range(len(values))]
    return SeriesData({"__name__": name, **labels}, [t * S for t in times], values)


def up(values: list[float], instance: str = "a:1", job: str = "shop") -> SeriesData:
    return gauge("up", values, job=job, instance=instance)


def shop_source(ok_per_s: float = 9.9, errors_per_s: float = 0.1) -> list[SeriesData]:
    return [
        linear("http_requests_total", ok_per_s, job="shop", instance="a:1", code="200"),
        linear("http_requests_total", errors_per_s, job="shop", instance="a:1", code="503"),
    ]


def value(expr: str, source: MemorySource) -> float:
    (sample,) = evaluate_instant(expr, source, NOW_S * S)
    return sample.value


CONFIG = """
services:
  - name: checkout
    job: shop
    selector: {route: /checkout}
    depends_on: [payments]
    signals:
      cpu: 'sum(rate(cpu_seconds_total{job="shop"}[$window]))'
  - name: payments
    job: pay
    status_label: status
slos:
  - {service: checkout, sli: availability, objective: 99.9%, window: 30d}
  - {service: checkout, name: fast, sli: latency, objective: 0.95, threshold: 300ms, window: 7d}
"""


def test_services_and_slos_load_from_config():
    checkout, payments = load_services(parse_config(CONFIG))
    assert (checkout.name, checkout.job, checkout.selector) == (
        "checkout",
        "shop",
        {"route": "/checkout"},
    )
    assert checkout.depends_on == ["payments"]
    assert checkout.signals["cpu"] == 'sum(rate(cpu_seconds_total{job="shop"}[5m]))'
    assert signal_expr(checkout, "cpu", "1h") == 'sum(rate(cpu_seconds_total{job="shop"}[1h]))'
    assert checkout.signals["availability"] == 'avg(up{job="shop", route="/checkout"})'
    availability, fast = checkout.slos
    assert (availability.sli, availability.objective, availability.window_s) == (
        SliKind.AVAILABILITY, pytest.approx(0.999), 30 * 86_400,
    )  # fmt: skip
    assert (fast.name, fast.threshold_s, fast.window_s) == ("fast", 0.3, 7 * 86_400)
    # payments has no SLO entry: it gets the defaults, and its pinned status label.
    assert [s.name for s in payments.slos] == ["availability", "latency"]
    assert 'status=~"5.."' in payments.signals["error_ratio"]


A = "services: [{name: a}]\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("services: {a: 1}", "services: must be a list"),
        ("services: [{job: x}]", "services[0]: name must be a non-empty string"),
        ("services: [{name: a, colour: red}]", "services[0]: unknown key(s) colour"),
        ("services: [{name: a}, {name: a}]", "duplicate name(s) a"),
        ("services: [{name: a, signals: {cpu: 'rate(x)'}}]", "signals: cpu: parse error at char 6"),
        ("services: [{name: a, signals: {speed: 'x'}}]", "unknown signal 'speed'"),
        (A + "slos: [{service: b, sli: availability, objective: 0.9}]", "service 'b' is not"),
        (A + "slos: [{service: a, sli: joy, objective: 0.9}]", "sli must be one of"),
        (A + "slos: [{service: a, sli: availability, objective: 99}]", "objective must be between"),
        (A + "slos: [{service: a, sli: latency, objective: 0.9}]", "needs a threshold"),
        (A + "slos: [{service: a, sli: latency, objective: 0.9, window: 3x}]", "a duration"),
    ],
)  # fmt: skip
def test_bad_service_config_names_file_entry_and_problem(text, message):
    with pytest.raises(ServiceConfigError) as caught:
        load_services(parse_config(text, Path("/etc/opsloop.yaml")))
    assert str(caught.value).startswith("/etc/opsloop.yaml: ")
    assert message in str(caught.value)


def test_jobs_without_config_become_services_with_default_slos():
    configured = load_services(parse_config(CONFIG))
    services = services_with_jobs(configured, ["shop", "opsloop", "pay", "opsloop"])
    assert [s.name for s in services] == ["checkout", "payments", "opsloop"]
    made_up = services[-1]
    assert not made_up.configured
    assert [(s.sli, s.objective) for s in made_up.slos] == [
        (SliKind.AVAILABILITY, 0.999),
        (SliKind.LATENCY, 0.95),
    ]


def test_conventions_adapt_to_the_metric_names_a_job_exposes():
    source = MemorySource(
        [
            linear("opsloop_http_requests_total", 1, job="opsloop", status="200"),
            linear("opsloop_http_request_duration_seconds_bucket", 1, job="opsloop", le="+Inf"),
        ]
    )
    spec = resolve_conventions(source, service_for_job("opsloop"), NOW_S * S)
    assert (spec.requests_metric, spec.status_label, spec.latency_metric) == (
        "opsloop_http_requests_total", "status", "opsloop_http_request_duration_seconds",
    )  # fmt: skip
    assert (
        'opsloop_http_requests_total{job="opsloop", status=~"5.."}' in spec.signals["error_ratio"]
    )
    # A job with nothing of the kind keeps the defaults.
    assert resolve_conventions(source, service_for_job("x"), NOW_S * S) == service_for_job("x")


def test_signals_give_request_rate_error_ratio_and_latency():
    series = shop_source()
    # Buckets: 6/s under 0.1 s, 9/s under 0.3 s, 10/s in all. p95: rank 9.5 of 10 falls in
    # (0.3, +Inf]: the highest finite bound, 0.3. p50: rank 5 in (0, 0.1]: 0.1 * 5/6.
    for le, per_s in (("0.1", 6), ("0.3", 9), ("+Inf", 10)):
        series.append(linear("http_request_duration_seconds_bucket", per_s, job="shop", le=le))
    series.append(linear("http_request_duration_seconds_count", 10, job="shop"))
    source = MemorySource(series)
    spec = service_for_job("shop")
    assert value(spec.signals["request_rate"], source) == pytest.approx(10.0)
    assert value(spec.signals["error_ratio"], source) == pytest.approx(0.01)  # 0.1 of 10
    assert value(spec.signals["latency_p50"], source) == pytest.approx(0.1 * 5 / 6)
    assert value(spec.signals["latency_p95"], source) == pytest.approx(0.3)
    latency_slo = spec.slos[1]
    # Slower than 300 ms: (10 - 9) / 10 = 0.1 of requests.
    assert value(error_ratio_expr(spec, latency_slo, "1h"), source) == pytest.approx(0.1)
    assert value(request_rate_expr(spec, "30m"), source) == pytest.approx(10.0)


def test_burn_rates_are_the_bad_ratio_over_the_budget_per_window():
    spec = service_for_job("shop")
    requests_slo = load_services(
        parse_config(
            "services: [{name: shop}]\n"
            "slos: [{service: shop, sli: error_ratio, objective: 99.9%, window: 30d}]"
        )
    )[0].slos[0]
    # 0.1 of 10 requests/s fail: ratio 0.01 against a budget of 0.001: burn rate 10.
    rates = burn_rates(MemorySource(shop_source()), spec, requests_slo, NOW_S * S)
    assert list(rates) == list(BURN_WINDOWS)
    assert all(rate == pytest.approx(10.0) for rate in rates.values())
    # No traffic at all: 0/0, no burn rate to speak of.
    empty = burn_rates(MemorySource(shop_source(0, 0)), spec, requests_slo, NOW_S * S)
    assert set(empty.values()) == {None}


def test_error_budget_of_availability_counts_the_time_targets_were_down():
    spec = service_for_job("shop")
    availability = spec.slos[0]  # 99.9 % over 30 days: 0.001 of the time may be down
    # Up for 4 days of samples, except 23 of them down: 23/23041 of the samples.
    samples = [1.0] * (NOW_S // STEP_S + 1)
    for i in range(100, 123):
        samples[i] = 0.0
    source = MemorySource([up(samples)])
    budget = error_budget(source, spec, availability, NOW_S * S)
    down_ratio = 23 / len(samples)
    assert budget.error_ratio == pytest.approx(down_ratio)
    assert budget.remaining_ratio == pytest.approx(1 - down_ratio / 0.001)
    # Over the last hour nothing was down: burn rate 0.
    assert burn_rates(source, spec, availability, NOW_S * S)["1h"] == 0.0


def test_health_is_down_degraded_or_healthy_with_the_reason():
    spec = service_for_job("shop")
    now = NOW_S * S
    nothing = service_health(MemorySource([]), spec, now)
    assert nothing.state is HealthState.DOWN
    assert "no scrape of job shop" in nothing.reason
    all_down = service_health(MemorySource([up([0, 0])]), spec, now)
    assert (all_down.state, all_down.reason) == (HealthState.DOWN, "all 1 target(s) down: a:1")
    half = service_health(MemorySource([up([1]), up([0], "b:1"), *shop_source()]), spec, now)
    assert half.state is HealthState.DEGRADED
    assert "1 of 2 targets down: b:1" in half.reason
    failing = service_health(MemorySource([up([1]), *shop_source(9, 1)]), spec, now)
    assert failing.state is HealthState.DEGRADED
    assert "10.0% of requests failed over 5m" in failing.reason
    fine = service_health(MemorySource([up([1] * 300), *shop_source(10, 0)]), spec, now)
    assert (fine.state, fine.reason) == (HealthState.HEALTHY, "1 target(s) up, within objectives")


def test_opsloop_itself_gets_a_one_second_latency_objective():
    own, other = service_for_job("opsloop"), service_for_job("shop")
    assert (own.slos[1].threshold_s, other.slos[1].threshold_s) == (1.0, 0.3)


def test_long_burn_windows_read_the_long_source_first():
    spec = service_for_job("shop")
    slo = load_services(
        parse_config(
            "services: [{name: shop}]\n"
            "slos: [{service: shop, sli: error_ratio, objective: 99%, window: 30d}]"
        )
    )[0].slos[0]
    recent = MemorySource(shop_source(9.9, 0.1))  # 1 % failing: burn rate 1
    rollups = MemorySource(shop_source(9.5, 0.5))  # 5 % failing: burn rate 5
    rates = burn_rates(recent, spec, slo, NOW_S * S, long_source=rollups)
    assert {w: round(r, 6) for w, r in rates.items() if r is not None} == {
        "5m": 1, "30m": 1, "1h": 1, "2h": 1, "6h": 5, "1d": 5, "3d": 5,
    }  # fmt: skip
    empty = burn_rates(recent, spec, slo, NOW_S * S, long_source=MemorySource([]))
    assert empty["3d"] == pytest.approx(1.0)
