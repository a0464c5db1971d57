"""Services: what the dashboards group by — a job (or a label selector) with its signals and SLOs.

Signals come by convention (availability from `up`, requests and errors from an
`http_requests_total`-style counter with a status label, latency from a `*_duration_seconds`
histogram, CPU and memory from `process_*`) and can be overridden per service in config.
Signal texts may contain `$window` where a range goes; `signal_expr` fills it in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from collector.errors import ServiceConfigError
from collector.promql import ExpressionError, parse_expr
from collector.series import METRIC_NAME_LABEL, Matcher, MatchOp, SeriesSource
from collector.targets import SELF_JOB
from core.config import RawConfig
from core.durations import parse_duration_s

DEFAULT_WINDOW = "5m"
DAY_S = 86_400
SIGNALS = (
    "availability",
    "request_rate",
    "error_ratio",
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "cpu",
    "memory",
)
STATUS_LABELS = ("code", "status", "status_code")
DISCOVERY_WINDOW_MS = 15 * 60_000
DEFAULT_LATENCY_THRESHOLD_S = 0.3
SELF_LATENCY_THRESHOLD_S = 1.0


class SliKind(StrEnum):
    AVAILABILITY = "availability"  # share of time the targets are up
    LATENCY = "latency"  # share of requests faster than threshold_s
    ERROR_RATIO = "error_ratio"  # share of requests answered without a 5xx


@dataclass(frozen=True)
class SloSpec:
    name: str
    service: str
    sli: SliKind
    objective: float  # 0..1, e.g. 0.999
    window_s: int
    threshold_s: float | None = None

    @property
    def allowed_ratio(self) -> float:
        """The error budget as a share of events (or of time): 1 - objective."""
        return 1.0 - self.objective


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    job: str
    selector: dict[str, str] = field(default_factory=dict)
    depends_on: list[str] = field(default_factory=list)
    # Concrete PromQL per signal (5-minute windows); templates keep `$window` for SLOs.
    signals: dict[str, str] = field(default_factory=dict)
    slos: list[SloSpec] = field(default_factory=list)
    signal_templates: dict[str, str] = field(default_factory=dict)
    requests_metric: str = "http_requests_total"
    status_label: str = "code"
    latency_metric: str = "http_request_duration_seconds"
    # False for a service made up from a job seen in the target table.
    configured: bool = True
    # Names given in config; discovery never changes those.
    pinned: frozenset[str] = frozenset()

    def selector_text(self, **extra: str) -> str:
        return selector_text(self.job, {**self.selector, **extra})


def selector_text(
    job: str, labels: Mapping[str, str], regex: Mapping[str, str] | None = None
) -> str:
    parts = [f'job="{_escape(job)}"']
    parts += [f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())]
    parts += [f'{k}=~"{_escape(v)}"' for k, v in sorted((regex or {}).items())]
    return ", ".join(parts)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def default_templates(spec: ServiceSpec) -> dict[str, str]:
    """The conventional signal expressions of a service, with `$window` for the range."""
    sel = spec.selector_text()
    req = spec.requests_metric
    errors = selector_text(spec.job, spec.selector, {spec.status_label: "5.."})
    bucket = f"{spec.latency_metric}_bucket"
    templates = {
        "availability": f"avg(up{{{sel}}})",
        "request_rate": f"sum(rate({req}{{{sel}}}[$window]))",
        # `or vector(0)`: no 5xx series yet (none ever failed) means a ratio of 0, not no data.
        "error_ratio": (
            f"(sum(rate({req}{{{errors}}}[$window])) or vector(0)) "
            f"/ sum(rate({req}{{{sel}}}[$window]))"
        ),
        "cpu": f"sum(rate(process_cpu_seconds_total{{{sel}}}[$window]))",
        "memory": f"sum(process_resident_memory_bytes{{{sel}}})",
    }
    for q in (50, 95, 99):
        templates[f"latency_p{q}"] = (
            f"histogram_quantile({q / 100}, sum by (le) (rate({bucket}{{{sel}}}[$window])))"
        )
    return templates


def with_signals(spec: ServiceSpec, overrides: Mapping[str, str] | None = None) -> ServiceSpec:
    """The spec with its signal templates (conventions, then overrides) and concrete signals."""
    templates = {**default_templates(spec), **(overrides or {})}
    signals = {name: fill_window(text, DEFAULT_WINDOW) for name, text in templates.items()}
    return replace(spec, signal_templates=templates, signals=signals)


def fill_window(template: str, window: str) -> str:
    return template.replace("$window", window)


def signal_expr(spec: ServiceSpec, signal: str, window: str = DEFAULT_WINDOW) -> str:
    """The PromQL of one signal of a service over `window` (e.g. "1h")."""
    return fill_window(spec.signal_templates[signal], window)


def latency_quantile_expr(spec: ServiceSpec, q: float, window: str = DEFAULT_WINDOW) -> str:
    """The q-quantile of latency: the p50/p95/p99 signal when it is one of those."""
    signal = f"latency_p{round(q * 100)}"
    if signal in spec.signal_templates and round(q * 100) == q * 100:
        return signal_expr(spec, signal, window)
    bucket = f"{spec.latency_metric}_bucket{{{spec.selector_text()}}}"
    return f"histogram_quantile({q!r}, sum by (le) (rate({bucket}[{window}])))"


def default_slos(
    spec: ServiceSpec, *, latency: bool, threshold_s: float = DEFAULT_LATENCY_THRESHOLD_S
) -> list[SloSpec]:
    """Availability 99.9 % over 30 days; and 95 % of requests under 300 ms when measured."""
    slos = [SloSpec("availability", spec.name, SliKind.AVAILABILITY, 0.999, 30 * DAY_S)]
    if latency:
        slos.append(SloSpec("latency", spec.name, SliKind.LATENCY, 0.95, 30 * DAY_S, threshold_s))
    return slos


def service_for_job(job: str) -> ServiceSpec:
    """A service made up for a job that config does not describe."""
    spec = with_signals(ServiceSpec(name=job, job=job, configured=False))
    # opsloop's own pages query the database: a second, not 300 ms, is their fair objective.
    threshold_s = SELF_LATENCY_THRESHOLD_S if job == SELF_JOB else DEFAULT_LATENCY_THRESHOLD_S
    return replace(spec, slos=default_slos(spec, latency=True, threshold_s=threshold_s))


def services_with_jobs(configured: Sequence[ServiceSpec], jobs: Iterable[str]) -> list[ServiceSpec]:
    """Configured services, plus one per job (from the target table) that none of them covers."""
    covered = {s.job for s in configured}
    extra = [service_for_job(job) for job in sorted(set(jobs)) if job not in covered]
    return [*configured, *extra]


# ---------------------------------------------------------------- conventions from data


def resolve_conventions(source: SeriesSource, spec: ServiceSpec, now_ms: int) -> ServiceSpec:
    """Find which request counter, status label and latency histogram the job really exposes.

    opsloop itself exposes `opsloop_http_requests_total{status=...}`, a Go service
    `http_requests_total{code=...}`: the conventions adapt to the names seen in the last
    15 minutes, except names pinned in config. Services without such metrics keep the defaults.
    """
    matchers = [Matcher("job", MatchOp.EQUAL, spec.job)]
    matchers += [Matcher(k, MatchOp.EQUAL, v) for k, v in spec.selector.items()]
    name = Matcher(METRIC_NAME_LABEL, MatchOp.REGEX, ".*requests_total|.*_duration_seconds_bucket")
    found = source.select([*matchers, name], now_ms - DISCOVERY_WINDOW_MS, now_ms)
    labels_by_name: dict[str, set[str]] = {}
    for series in found:
        labels_by_name.setdefault(series.labels[METRIC_NAME_LABEL], set()).update(series.labels)
    changes: dict[str, Any] = {}
    requests = _pick(labels_by_name, r"(.+_)?http_requests_total", r".+requests_total")
    if requests and "requests_metric" not in spec.pinned:
        changes["requests_metric"] = requests
    metric = changes.get("requests_metric", spec.requests_metric)
    status = next((s for s in STATUS_LABELS if s in labels_by_name.get(metric, ())), None)
    if status and "status_label" not in spec.pinned:
        changes["status_label"] = status
    latency = _pick(
        labels_by_name, r".*request.*_duration_seconds_bucket", r".+_duration_seconds_bucket"
    )
    if latency and "latency_metric" not in spec.pinned:
        changes["latency_metric"] = latency.removesuffix("_bucket")
    if not changes:
        return spec
    overrides = {
        k: v for k, v in spec.signal_templates.items() if v != default_templates(spec).get(k)
    }
    return with_signals(replace(spec, **changes), overrides)


def _pick(labels_by_name: Mapping[str, set[str]], *patterns: str) -> str | None:
    for pattern in patterns:
        names = sorted(n for n in labels_by_name if re.fullmatch(pattern, n))
        if names:
            return names[0]
    return None


# ---------------------------------------------------------------- config sections

_SERVICE_KEYS = {"name", "job", "selector", "depends_on", "signals"}
_SERVICE_KEYS |= {"requests_metric", "status_label", "latency_metric"}
_SLO_KEYS = {"name", "service", "sli", "objective", "window", "threshold"}


def load_services(raw_config: RawConfig) -> list[ServiceSpec]:
    """The `services` and `slos` sections; ServiceConfigError names file, entry and problem."""
    where = str(raw_config.path) if raw_config.path else "<config>"
    entries = raw_config.section("services") or []
    if not isinstance(entries, list):
        raise ServiceConfigError(f"{where}: services: must be a list of services")
    specs = [_parse_service(f"{where}: services[{i}]", e) for i, e in enumerate(entries)]
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ServiceConfigError(f"{where}: services: duplicate name(s) {', '.join(duplicates)}")
    slo_entries = raw_config.section("slos") or []
    if not isinstance(slo_entries, list):
        raise ServiceConfigError(f"{where}: slos: must be a list of SLOs")
    slos = [_parse_slo(f"{where}: slos[{i}]", e, set(names)) for i, e in enumerate(slo_entries)]
    result = []
    for spec in specs:
        own = [slo for slo in slos if slo.service == spec.name]
        result.append(replace(spec, slos=own or default_slos(spec, latency=True)))
    return result


def _parse_service(where: str, entry: Any) -> ServiceSpec:
    if not isinstance(entry, dict):
        raise ServiceConfigError(f"{where}: must be a mapping with at least name and job")
    unknown = sorted(set(entry) - _SERVICE_KEYS)
    if unknown:
        raise ServiceConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    name = _string(where, entry, "name")
    where = f"{where} ({name})"
    job = _string(where, entry, "job", default=name)
    selector = _string_map(where, entry.get("selector") or {}, "selector")
    depends_on = entry.get("depends_on") or []
    if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
        raise ServiceConfigError(f"{where}: depends_on must be a list of service names")
    pinned = {k for k in ("requests_metric", "status_label", "latency_metric") if k in entry}
    spec = ServiceSpec(
        name=name,
        job=job,
        selector=selector,
        depends_on=list(depends_on),
        requests_metric=_string(where, entry, "requests_metric", "http_requests_total"),
        status_label=_string(where, entry, "status_label", "code"),
        latency_metric=_string(where, entry, "latency_metric", "http_request_duration_seconds"),
        pinned=frozenset(pinned),
    )
    overrides = _string_map(where, entry.get("signals") or {}, "signals")
    for signal, text in overrides.items():
        if signal not in SIGNALS:
            raise ServiceConfigError(
                f"{where}: signals: unknown signal {signal!r} (known: {', '.join(SIGNALS)})"
            )
        try:
            parse_expr(fill_window(text, DEFAULT_WINDOW))
        except ExpressionError as exc:
            raise ServiceConfigError(f"{where}: signals: {signal}: {exc}") from exc
    return with_signals(spec, overrides)


def _parse_slo(where: str, entry: Any, services: set[str]) -> SloSpec:
    if not isinstance(entry, dict):
        raise ServiceConfigError(f"{where}: must be a mapping with service, sli and objective")
    unknown = sorted(set(entry) - _SLO_KEYS)
    if unknown:
        raise ServiceConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    service = _string(where, entry, "service")
    if service not in services:
        raise ServiceConfigError(f"{where}: service {service!r} is not in the services section")
    try:
        sli = SliKind(_string(where, entry, "sli"))
    except ValueError:
        kinds = ", ".join(k.value for k in SliKind)
        raise ServiceConfigError(f"{where}: sli must be one of {kinds}") from None
    objective = _objective(where, entry.get("objective"))
    window_s = _seconds(where, entry.get("window", "30d"), "window")
    threshold = entry.get("threshold")
    threshold_s = None if threshold is None else _seconds(where, threshold, "threshold")
    if sli is SliKind.LATENCY and not threshold_s:
        raise ServiceConfigError(f"{where}: a latency SLO needs a threshold such as 300ms")
    name = _string(where, entry, "name", default=sli.value)
    return SloSpec(name, service, sli, objective, int(window_s), threshold_s)


def _string(where: str, entry: dict[str, Any], key: str, default: str | None = None) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str) or not value:
        raise ServiceConfigError(f"{where}: {key} must be a non-empty string")
    return value


def _string_map(where: str, value: Any, key: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ServiceConfigError(f"{where}: {key} must map names to strings")
    return dict(value)


def _objective(where: str, value: Any) -> float:
    """0.999 or "99.9%"."""
    try:
        if isinstance(value, str) and value.strip().endswith("%"):
            number = float(value.strip()[:-1]) / 100
        else:
            number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not 0 < number < 1:
        raise ServiceConfigError(f"{where}: objective must be between 0 and 1 (or 0% and 100%)")
    return number


def _seconds(where: str, value: Any, key: str) -> float:
    """A PromQL duration ("30d", "300ms") or a number of seconds."""
    try:
        seconds = parse_duration_s(value, bare_seconds=True)
    except ValueError:
        seconds = 0.0
    if seconds > 0:
        return seconds
    raise ServiceConfigError(f"{where}: {key} must be a duration such as 30d or 300ms")
