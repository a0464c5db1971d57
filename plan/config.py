"""The `plan` and `exporters` sections of the config file, parsed and validated.

```yaml
plan:
  weights:            # exponents of the RICE terms, and the mix inside each term
    reach: 1.0
    impact: 1.0
    confidence: 1.0
    effort: 1.0
    reach_people: 1.0
    reach_requests: 1.0
    impact_severity: 0.7
    impact_sentiment: 0.3
    confidence_amount: 0.5
    confidence_variety: 0.5
  half_life: 7d       # recency decay of the newest evidence
  default_effort: 1   # person-weeks when nobody has estimated it yet
  theme_min_size: 5   # a feedback theme this large opens an item ...
  theme_growth: 2.0   # ... or one whose last week is this many times the week before
  watch_window: 7d    # released → verified / regressed after this long
  volume_drop_share: 0.5
  regression_window: 2h
exporters:
  - type: github | jira | webhook
    ...               # see plan/export/
```
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from core.config import load_config
from core.durations import parse_duration_s as parse_core_duration_s
from core.errors import ConfigError
from core.runtime import Runtime
from plan.errors import PlanConfigError
from plan.models import ExportTarget

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Weights:
    """Exponents of the four RICE terms (1 = plain RICE, 0 = ignore the term) and the mix
    of the inputs inside each term."""

    reach: float = 1.0
    impact: float = 1.0
    confidence: float = 1.0
    effort: float = 1.0
    reach_people: float = 1.0
    reach_requests: float = 1.0
    impact_severity: float = 0.7
    impact_sentiment: float = 0.3
    confidence_amount: float = 0.5
    confidence_variety: float = 0.5


@dataclass(frozen=True)
class PlanConfig:
    weights: Weights = field(default_factory=Weights)
    half_life_s: float = 7 * 86400
    default_effort: float = 1.0
    theme_min_size: int = 5
    theme_growth: float = 2.0
    theme_growth_min_posts: int = 3
    theme_growth_window_s: float = 7 * 86400
    watch_window_s: float = 7 * 86400
    volume_drop_share: float = 0.5
    regression_window_s: float = 2 * 3600
    regression_min_events: int = 3
    regression_factor: float = 2.0
    # A budget state older than this no longer lifts reliability items to the top.
    policy_freshness_s: float = 15 * 60


@dataclass(frozen=True)
class ExporterConfig:
    """One export target; `options` holds the target's own keys (repo, token, project, ...)."""

    type: ExportTarget
    options: dict[str, Any]
    timeout_s: float = 10.0


def parse_duration_s(value: Any, where: str) -> float:
    """`90s`, `5m`, `2h`, `7d`, `1w` or a number of seconds."""
    try:
        seconds = parse_core_duration_s(value, bare_seconds=True)
    except ValueError as exc:
        raise PlanConfigError(f"{where}: expected a duration; {exc}") from None
    if seconds <= 0:
        raise PlanConfigError(f"{where}: must be more than zero, got {value!r}")
    return seconds


def _number(value: Any, where: str, *, low: float = 0.0, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PlanConfigError(f"{where}: expected a number, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise PlanConfigError(f"{where}: must be {bounds}, got {value!r}")
    return float(value)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PlanConfigError(f"{where}: expected a mapping")
    return value


def load_plan_config(section: Any, where: str = "<config>") -> PlanConfig:
    """Parse the `plan:` section; `where` (the file name) prefixes every error."""
    raw = _mapping(section, f"{where}: plan")
    known = {
        "weights",
        "half_life",
        "default_effort",
        "theme_min_size",
        "theme_growth",
        "theme_growth_min_posts",
        "theme_growth_window",
        "watch_window",
        "volume_drop_share",
        "regression_window",
        "regression_min_events",
        "regression_factor",
        "policy_freshness",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise PlanConfigError(f"{where}: plan: unknown key(s): {', '.join(unknown)}")
    weights_raw = _mapping(raw.get("weights"), f"{where}: plan.weights")
    names = {f.name for f in fields(Weights)}
    bad = sorted(set(weights_raw) - names)
    if bad:
        raise PlanConfigError(
            f"{where}: plan.weights: unknown weight(s) {', '.join(bad)}; "
            f"known: {', '.join(sorted(names))}"
        )
    weights = Weights(
        **{k: _number(v, f"{where}: plan.weights.{k}", high=10) for k, v in weights_raw.items()}
    )
    base = PlanConfig()

    def dur(key: str, default: float) -> float:
        return parse_duration_s(raw[key], f"{where}: plan.{key}") if key in raw else default

    def num(key: str, default: float, **bounds: float) -> float:
        return _number(raw[key], f"{where}: plan.{key}", **bounds) if key in raw else default

    return PlanConfig(
        weights=weights,
        half_life_s=dur("half_life", base.half_life_s),
        default_effort=num("default_effort", base.default_effort, low=0.01),
        theme_min_size=int(num("theme_min_size", base.theme_min_size, low=1)),
        theme_growth=num("theme_growth", base.theme_growth, low=1),
        theme_growth_min_posts=int(num("theme_growth_min_posts", base.theme_growth_min_posts)),
        theme_growth_window_s=dur("theme_growth_window", base.theme_growth_window_s),
        watch_window_s=dur("watch_window", base.watch_window_s),
        volume_drop_share=num("volume_drop_share", base.volume_drop_share, high=1),
        regression_window_s=dur("regression_window", base.regression_window_s),
        regression_min_events=int(num("regression_min_events", base.regression_min_events, low=1)),
        regression_factor=num("regression_factor", base.regression_factor, low=1),
        policy_freshness_s=dur("policy_freshness", base.policy_freshness_s),
    )


_REQUIRED = {
    ExportTarget.GITHUB: ("repo", "token"),
    ExportTarget.JIRA: ("url", "project", "token"),
    ExportTarget.WEBHOOK: ("url",),
}


def load_exporters(section: Any, where: str = "<config>") -> dict[ExportTarget, ExporterConfig]:
    """Parse the `exporters:` list; at most one exporter per target type."""
    if section is None:
        return {}
    if not isinstance(section, list):
        raise PlanConfigError(f"{where}: exporters: expected a list of exporters")
    found: dict[ExportTarget, ExporterConfig] = {}
    for index, entry in enumerate(section):
        place = f"{where}: exporters[{index}]"
        if not isinstance(entry, dict):
            raise PlanConfigError(f"{place}: expected a mapping")
        try:
            target = ExportTarget(str(entry.get("type", "")))
        except ValueError:
            choices = ", ".join(t.value for t in ExportTarget)
            raise PlanConfigError(
                f"{place}: type must be one of {choices}, got {entry.get('type')!r}"
            ) from None
        if target in found:
            raise PlanConfigError(f"{place}: a second {target.value} exporter; one per type")
        missing = [k for k in _REQUIRED[target] if not entry.get(k)]
        if missing:
            raise PlanConfigError(f"{place} ({target.value}): missing {', '.join(missing)}")
        if target is ExportTarget.GITHUB and "/" not in str(entry["repo"]):
            raise PlanConfigError(f"{place} (github): repo must be owner/name")
        timeout_s = (
            parse_duration_s(entry["timeout"], f"{place}.timeout") if "timeout" in entry else 10.0
        )
        options = {k: v for k, v in entry.items() if k not in {"type", "timeout"}}
        found[target] = ExporterConfig(type=target, options=options, timeout_s=timeout_s)
    return found


def _stamp(path: Path | None) -> int | None:
    try:
        return path.stat().st_mtime_ns if path is not None else None
    except OSError:
        return None


def plan_config_for(runtime: Runtime) -> PlanConfig:
    """The `plan` section, cached per process and re-read when the config file changes.

    Scores are computed at read time with these weights, so saving new weights in the file
    re-ranks the board on the next page load, without a restart. A file that no longer
    parses keeps the last good section (and logs why): a typo must not empty the board.
    """
    areas = runtime.areas
    path = runtime.config.path
    stamp = _stamp(path)
    if "plan" in areas and areas.get("plan_stamp") == stamp:
        cfg: PlanConfig = areas["plan"]
        return cfg
    where = str(path or "<config>")
    if "plan" not in areas:
        areas["plan"] = load_plan_config(runtime.config.section("plan"), where)
    elif path is not None:
        try:
            areas["plan"] = load_plan_config(load_config(path).section("plan"), where)
        except ConfigError as exc:
            log.warning("keeping the previous plan config: %s", exc)
    areas["plan_stamp"] = stamp
    cfg = areas["plan"]
    return cfg


def exporters_for(runtime: Runtime) -> dict[ExportTarget, ExporterConfig]:
    """The `exporters` section of the runtime's config, parsed once per process and cached."""
    if "plan_exporters" not in runtime.areas:
        where = str(runtime.config.path or "<config>")
        runtime.areas["plan_exporters"] = load_exporters(runtime.config.section("exporters"), where)
    found: dict[ExportTarget, ExporterConfig] = runtime.areas["plan_exporters"]
    return found
