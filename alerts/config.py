"""The alerting part of the config file: rule files, shorthands, receivers/routes, dependencies.

Sections read: `rule_files`, `alerting.shorthands`, `global.evaluation_interval` (default
15s, as in Prometheus; a group's own `interval` wins), `receivers`, `route`,
`maintenance_windows`, and `services` (for `depends_on` and the shorthands).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from alerts.errors import AlertsError, RuleError
from alerts.grouping import DispatchContext
from alerts.receivers import NotifyConfig, parse_notify_config
from alerts.rules import DEFAULT_INTERVAL_S, RuleGroup, load_rule_files
from alerts.shorthands import parse_shorthands, shorthand_groups
from collector.errors import CollectorError
from collector.health import HealthState, service_health
from collector.services import ServiceSpec, load_services
from collector.storage import DatabaseSource
from core.clock import to_ms
from core.config import RawConfig
from core.db import reading
from core.durations import parse_duration_s
from core.errors import ConfigError
from core.runtime import Runtime


@dataclass(frozen=True)
class AlertingConfig:
    groups: tuple[RuleGroup, ...] = ()
    evaluation_interval_s: float = DEFAULT_INTERVAL_S
    dispatch: DispatchContext = field(default_factory=lambda: DispatchContext(NotifyConfig()))
    services: tuple[ServiceSpec, ...] = ()

    def interval_of(self, group: RuleGroup) -> float:
        return group.interval_or(self.evaluation_interval_s)


def evaluation_interval(config: RawConfig) -> float:
    where = str(config.path) if config.path else "<config>"
    raw = (config.section("global") or {}).get("evaluation_interval", "15s")
    try:
        seconds = parse_duration_s(raw)
    except ValueError as exc:
        raise ConfigError(f"{where}: global.evaluation_interval: {exc}") from None
    if seconds <= 0:
        raise ConfigError(f"{where}: global.evaluation_interval must be above 0")
    return seconds


def all_rule_groups(config: RawConfig, services: list[ServiceSpec]) -> list[RuleGroup]:
    """Rule files plus generated shorthands; RuleError lists every problem found."""
    where = str(config.path) if config.path else "<config>"
    groups = load_rule_files(config)
    generated = shorthand_groups(parse_shorthands(config.section("alerting"), where), services)
    names = {g.name for g in groups}
    clash = [g.name for g in generated if g.name in names]
    if clash:
        raise RuleError(
            f"{where}: rule group name(s) {', '.join(clash)} are reserved for shorthands"
        )
    return groups + generated


def load_alerting_config(
    config: RawConfig,
    external_url: str,
    down_services: Callable[[datetime], set[str]] | None = None,
) -> AlertingConfig:
    services = load_services(config)
    parents = {s.name: tuple(s.depends_on) for s in services if s.depends_on}
    return AlertingConfig(
        groups=tuple(all_rule_groups(config, services)),
        evaluation_interval_s=evaluation_interval(config),
        dispatch=DispatchContext(
            notify=parse_notify_config(config),
            parents=parents,
            external_url=external_url.rstrip("/"),
            down_services=down_services,
        ),
        services=tuple(services),
    )


def health_down(engine: Engine, services: Sequence[ServiceSpec]) -> Callable[[datetime], set[str]]:
    """Services (parents of others) whose health is down at a time, from stored samples."""
    parents = {p for s in services for p in s.depends_on}
    watched = [s for s in services if s.name in parents]
    source = DatabaseSource(reading(engine))

    def down(now: datetime) -> set[str]:
        return {
            s.name
            for s in watched
            if service_health(source, s, to_ms(now)).state is HealthState.DOWN
        }

    return down


def alerting_for(runtime: Runtime) -> AlertingConfig:
    """The runtime's alerting config, parsed once; a bad rule file is a configuration error."""
    cached = runtime.areas.get("alerting")
    if isinstance(cached, AlertingConfig):
        return cached
    try:
        services = load_services(runtime.config)
        config = load_alerting_config(
            runtime.config,
            runtime.settings.public_url,
            down_services=health_down(runtime.engine, services),
        )
    except (AlertsError, CollectorError) as exc:
        raise ConfigError(str(exc)) from exc
    runtime.areas["alerting"] = config
    return config
