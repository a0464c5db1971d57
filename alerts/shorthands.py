"""Rules generated from config shorthands: `target_down` and SLO multi-window burn-rate alerts.

`alerting: {shorthands: {target_down: true, slo_burn: true}}` in the config file. The burn-rate
rules follow the Google SRE workbook ("Alerting on SLOs", recipe 6: multiwindow,
multi-burn-rate): page at 14.4x over 1h and 5m or 6x over 6h and 30m; ticket at 3x over 1d
and 2h or 1x over 3d and 6h. Each long/short window pair is its own rule (labelled with its
windows), both windows must burn, and a minimum-traffic guard keeps a handful of failed
requests on an idle service from paging anyone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from alerts.errors import RuleError
from alerts.rules import AlertRule, RuleGroup
from collector.services import ServiceSpec, SloSpec
from collector.slo import error_ratio_expr, request_rate_expr
from core.durations import format_duration_s, parse_duration_s

TARGET_DOWN_ALERT = "TargetDown"
SLO_BURN_ALERT = "SLOErrorBudgetBurn"
TARGET_DOWN_GROUP = "opsloop.target_down"
SLO_BURN_PAGE_GROUP = "opsloop.slo_burn.page"
SLO_BURN_TICKET_GROUP = "opsloop.slo_burn.ticket"
# Ticket windows (1d, 3d) outlive raw samples (48h by default): they are evaluated on the
# 5-minute rollups, every 5 minutes, which is plenty for a ticket.
TICKET_INTERVAL_S = 300.0
DEFAULT_MIN_REQUEST_RATE = 1 / 60  # one request a minute over the long window


@dataclass(frozen=True)
class BurnWindow:
    severity: str
    factor: float
    long_s: int
    short_s: int


BURN_WINDOWS = (
    BurnWindow("page", 14.4, 3600, 300),
    BurnWindow("page", 6.0, 6 * 3600, 1800),
    BurnWindow("ticket", 3.0, 86400, 7200),
    BurnWindow("ticket", 1.0, 3 * 86400, 6 * 3600),
)


@dataclass(frozen=True)
class ShorthandConfig:
    target_down: bool = False
    target_down_for_s: float = 60.0
    slo_burn: bool = False
    min_request_rate: float = DEFAULT_MIN_REQUEST_RATE


def parse_shorthands(alerting: Mapping[str, Any] | None, where: str) -> ShorthandConfig:
    """The `alerting.shorthands` section; RuleError naming the field when it is wrong."""
    raw = (alerting or {}).get("shorthands") or {}
    if not isinstance(raw, dict):
        raise RuleError(f"{where}: alerting.shorthands must be a mapping")
    unknown = set(raw) - {"target_down", "slo_burn"}
    if unknown:
        raise RuleError(f"{where}: alerting.shorthands: unknown {', '.join(sorted(unknown))}")
    target_down = _flag_or_map(raw.get("target_down", False), where, "target_down", {"for"})
    slo_burn = _flag_or_map(raw.get("slo_burn", False), where, "slo_burn", {"min_request_rate"})
    config = ShorthandConfig(target_down=target_down is not None, slo_burn=slo_burn is not None)
    if target_down and "for" in target_down:
        try:
            seconds = parse_duration_s(target_down["for"])
        except ValueError as exc:
            raise RuleError(f"{where}: alerting.shorthands.target_down.for: {exc}") from None
        config = replace(config, target_down_for_s=seconds)
    if slo_burn and "min_request_rate" in slo_burn:
        rate = slo_burn["min_request_rate"]
        if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0:
            raise RuleError(
                f"{where}: alerting.shorthands.slo_burn.min_request_rate must be a number >= 0"
            )
        config = replace(config, min_request_rate=float(rate))
    return config


def _flag_or_map(raw: Any, where: str, name: str, keys: set[str]) -> dict[str, Any] | None:
    """`true` → {}, `false` → None, a mapping → itself (checked)."""
    if raw is True:
        return {}
    if raw is False or raw is None:
        return None
    if isinstance(raw, dict):
        unknown = set(raw) - keys
        if unknown:
            raise RuleError(
                f"{where}: alerting.shorthands.{name}: unknown {', '.join(sorted(unknown))}"
            )
        return raw
    raise RuleError(f"{where}: alerting.shorthands.{name} must be true, false or a mapping")


def shorthand_groups(config: ShorthandConfig, services: Sequence[ServiceSpec]) -> list[RuleGroup]:
    groups = []
    if config.target_down:
        groups.append(target_down_group(services, config.target_down_for_s))
    if config.slo_burn:
        rules = [
            rule
            for service in services
            for slo in service.slos
            for rule in slo_burn_rules(service, slo, config.min_request_rate)
        ]
        page = tuple(r for r in rules if r.labels["severity"] == "page")
        ticket = tuple(r for r in rules if r.labels["severity"] == "ticket")
        if page:
            groups.append(RuleGroup(SLO_BURN_PAGE_GROUP, page, origin="shorthand slo_burn"))
        if ticket:
            groups.append(
                RuleGroup(
                    SLO_BURN_TICKET_GROUP,
                    ticket,
                    interval_s=TICKET_INTERVAL_S,
                    origin="shorthand slo_burn",
                    use_rollups=True,
                )
            )
    return groups


def target_down_group(services: Sequence[ServiceSpec], for_s: float = 60.0) -> RuleGroup:
    """`up == 0` for 1m: one rule per service with a job (labelled with the service), or one
    rule over every target when no services are configured."""
    annotations = {
        "summary": "Target {{ $labels.instance }} of job {{ $labels.job }} is down",
        "description": "The last scrape of {{ $labels.instance }} failed ({{ $labels.job }}).",
    }
    rules = [
        AlertRule(
            alert=TARGET_DOWN_ALERT,
            expr=f"up{{{service.selector_text()}}} == 0",
            for_s=for_s,
            labels={"severity": "page", "service": service.name},
            annotations=annotations,
            origin="shorthand target_down",
        )
        for service in services
        if service.job
    ]
    if not rules:
        rules = [
            AlertRule(
                alert=TARGET_DOWN_ALERT,
                expr="up == 0",
                for_s=for_s,
                labels={"severity": "page"},
                annotations=annotations,
                origin="shorthand target_down",
            )
        ]
    return RuleGroup(TARGET_DOWN_GROUP, tuple(rules), origin="shorthand target_down")


def slo_burn_rules(service: ServiceSpec, slo: SloSpec, min_request_rate: float) -> list[AlertRule]:
    budget = 1.0 - slo.objective
    rules = []
    for window in BURN_WINDOWS:
        long_w, short_w = format_duration_s(window.long_s), format_duration_s(window.short_s)
        threshold = _number(window.factor * budget)
        expr = (
            f"({error_ratio_expr(service, slo, long_w)}) > {threshold}\n"
            f"and on() ({error_ratio_expr(service, slo, short_w)}) > {threshold}\n"
            f"and on() ({request_rate_expr(service, long_w)}) >= {_number(min_request_rate)}"
        )
        rules.append(
            AlertRule(
                alert=SLO_BURN_ALERT,
                expr=expr,
                labels={
                    "severity": window.severity,
                    "service": service.name,
                    "slo": slo.name,
                    "long_window": long_w,
                    "short_window": short_w,
                },
                annotations={
                    "summary": (
                        f"{service.name}: SLO {slo.name} burns its error budget "
                        f"{_number(window.factor)}x too fast"
                    ),
                    "description": (
                        f"Error ratio over {long_w} is {{{{ humanizePercentage $value }}}} "
                        f"(objective {_number(slo.objective * 100)}%, budget "
                        f"{_number(budget * 100)}%); over {short_w} it burns too."
                    ),
                },
                origin="shorthand slo_burn",
            )
        )
    return rules


def _number(value: float) -> str:
    text = f"{value:.10g}"
    return text
