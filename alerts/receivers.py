"""Notification config: `receivers`, the `route` tree, `maintenance_windows` (Alertmanager style).

The route tree has Alertmanager's semantics: a node matches when all its matchers match; its
children are tried in order, the first match wins unless that child says `continue: true`;
when no child matches the node itself is the match. Children inherit the receiver,
`group_by` and the timers (defaults: group_wait 30s, group_interval 5m, repeat_interval 4h).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from collector.series import Matcher, MatchOp, matches_all
from core.clock import as_utc
from core.config import RawConfig
from core.durations import parse_duration_s
from core.errors import ConfigError

DEFAULT_GROUP_WAIT_S = 30.0
DEFAULT_GROUP_INTERVAL_S = 300.0
DEFAULT_REPEAT_INTERVAL_S = 4 * 3600.0
DEFAULT_TIMEOUT_S = 10.0
GROUP_BY_ALL = "..."
_MATCHER = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,120}$")


class ReceiverKind(StrEnum):
    WEBHOOK = "webhook"
    SLACK = "slack"
    ALERTMANAGER = "alertmanager"


@dataclass(frozen=True)
class ReceiverConfig:
    name: str
    kind: ReceiverKind
    url: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    bearer_token: str | None = None
    basic_auth: tuple[str, str] | None = None
    hmac_secret: str | None = None
    max_alerts: int = 0  # 0: no limit; above it the payload says how many were truncated


@dataclass(frozen=True)
class Route:
    receiver: str
    matchers: tuple[Matcher, ...] = ()
    group_by: tuple[str, ...] = ()
    group_wait_s: float = DEFAULT_GROUP_WAIT_S
    group_interval_s: float = DEFAULT_GROUP_INTERVAL_S
    repeat_interval_s: float = DEFAULT_REPEAT_INTERVAL_S
    continue_matching: bool = False
    routes: tuple[Route, ...] = ()
    key: str = "{}"

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes an alert goes to (Alertmanager's Route.Match)."""
        if not matches_all(self.matchers, labels):
            return []
        found: list[Route] = []
        for child in self.routes:
            hits = child.match(labels)
            found.extend(hits)
            if hits and not child.continue_matching:
                break
        return found or [self]

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        if GROUP_BY_ALL in self.group_by:
            return dict(labels)
        return {name: labels[name] for name in self.group_by if labels.get(name)}


@dataclass(frozen=True)
class MaintenanceWindow:
    service: str
    starts_at: datetime
    ends_at: datetime
    comment: str = ""

    def covers(self, service: str | None, now: datetime) -> bool:
        return service == self.service and self.starts_at <= now < self.ends_at


@dataclass(frozen=True)
class NotifyConfig:
    receivers: dict[str, ReceiverConfig] = field(default_factory=dict)
    route: Route | None = None
    maintenance_windows: tuple[MaintenanceWindow, ...] = ()

    def window_for(self, service: str | None, now: datetime) -> MaintenanceWindow | None:
        return next((w for w in self.maintenance_windows if w.covers(service, now)), None)


def parse_notify_config(config: RawConfig) -> NotifyConfig:
    where = str(config.path) if config.path else "<config>"
    receivers = _receivers(config.section("receivers", []) or [], where, config.base_dir)
    raw_route = config.section("route")
    route = None
    if raw_route is not None:
        route = _route(raw_route, where, "route", None, receivers)
    elif receivers:
        raise ConfigError(f"{where}: route: receivers are configured but no route sends to them")
    windows = _windows(config.section("maintenance_windows", []) or [], where)
    return NotifyConfig(receivers=receivers, route=route, maintenance_windows=windows)


def _receivers(raw: Any, where: str, base_dir: Path) -> dict[str, ReceiverConfig]:
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: receivers must be a list")
    result: dict[str, ReceiverConfig] = {}
    for index, item in enumerate(raw):
        at = f"{where}: receivers[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{at} must be a mapping with a name and one kind")
        name = item.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{at}.name: give a name of letters, digits, '.', '_' or '-'")
        if name in result:
            raise ConfigError(f"{at}.name: {name!r} is used twice")
        kinds = [k for k in item if k != "name"]
        if len(kinds) != 1 or kinds[0] not in set(ReceiverKind):
            raise ConfigError(
                f"{at} ({name}): give exactly one of {', '.join(k.value for k in ReceiverKind)}"
            )
        kind = ReceiverKind(kinds[0])
        result[name] = _receiver(name, kind, item[kinds[0]], f"{at}.{kinds[0]}", base_dir)
    return result


def _receiver(name: str, kind: ReceiverKind, raw: Any, at: str, base_dir: Path) -> ReceiverConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{at} must be a mapping with at least a url")
    allowed = {"url", "timeout", "max_alerts"}
    if kind is ReceiverKind.WEBHOOK:
        allowed |= {"bearer_token", "basic_auth", "hmac_secret"}
        allowed |= {"bearer_token_file", "hmac_secret_file"}
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"{at}: unknown field(s) {', '.join(sorted(unknown))}")
    url = raw.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"{at}.url: {url!r} is not an http(s) URL")
    timeout_s = _seconds(raw.get("timeout", "10s"), f"{at}.timeout")
    if timeout_s <= 0:
        raise ConfigError(f"{at}.timeout must be above 0")
    max_alerts = raw.get("max_alerts", 0)
    if isinstance(max_alerts, bool) or not isinstance(max_alerts, int) or max_alerts < 0:
        raise ConfigError(f"{at}.max_alerts must be a whole number >= 0")
    bearer = _secret(raw, "bearer_token", at, base_dir)
    basic_auth = _basic_auth(raw.get("basic_auth"), f"{at}.basic_auth", base_dir)
    if basic_auth and bearer:
        raise ConfigError(f"{at}: give bearer_token or basic_auth, not both")
    return ReceiverConfig(
        name=name,
        kind=kind,
        url=str(url).rstrip("/") if kind is ReceiverKind.ALERTMANAGER else str(url),
        timeout_s=timeout_s,
        bearer_token=bearer,
        basic_auth=basic_auth,
        hmac_secret=_secret(raw, "hmac_secret", at, base_dir),
        max_alerts=max_alerts,
    )


def _secret(raw: Mapping[str, Any], key: str, at: str, base_dir: Path) -> str | None:
    """`key: value`, or `key_file: path` (relative to the config file) holding the value."""
    if key in raw and f"{key}_file" in raw:
        raise ConfigError(f"{at}: give {key} or {key}_file, not both")
    if f"{key}_file" in raw:
        name = raw[f"{key}_file"]
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{at}.{key}_file must be a file path")
        path = base_dir / name
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{at}.{key}_file: cannot read {path}: {exc.strerror}") from None
        if not value:
            raise ConfigError(f"{at}.{key}_file: {path} is empty")
        return value
    if key not in raw:
        return None
    if not (isinstance(raw[key], str) and raw[key]):
        raise ConfigError(f"{at}.{key} must be a non-empty string")
    return str(raw[key])


def _basic_auth(raw: Any, at: str, base_dir: Path) -> tuple[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("username"), str):
        raise ConfigError(f"{at} needs a username and a password (or password_file)")
    unknown = set(raw) - {"username", "password", "password_file"}
    if unknown:
        raise ConfigError(f"{at}: unknown field(s) {', '.join(sorted(unknown))}")
    return raw["username"], _secret(raw, "password", at, base_dir) or ""


def _seconds(raw: Any, at: str) -> float:
    try:
        return parse_duration_s(raw)
    except ValueError as exc:
        raise ConfigError(f"{at}: {exc}") from None


def parse_matcher(text: Any, at: str) -> Matcher:
    """`name="value"`, `name=~"regex"`, `name!=value` (Alertmanager's matcher strings)."""
    match = _MATCHER.match(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(f'{at}: {text!r} is not a matcher like severity="page"')
    name, op, value = match.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if op in {"=~", "!~"}:
        try:
            re.compile(value)
        except re.error as exc:
            raise ConfigError(f"{at}: {value!r} is not a valid regex: {exc}") from None
    return Matcher(name, MatchOp(op), value)


def _route(
    raw: Any, where: str, at: str, parent: Route | None, receivers: Mapping[str, ReceiverConfig]
) -> Route:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: {at} must be a mapping")
    allowed = {
        "receiver", "matchers", "match", "match_re", "group_by", "group_wait",
        "group_interval", "repeat_interval", "continue", "routes",
    }  # fmt: skip
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"{where}: {at}: unknown field(s) {', '.join(sorted(unknown))}")
    matchers = _route_matchers(raw, f"{where}: {at}")
    if parent is None and matchers:
        raise ConfigError(
            f"{where}: {at}: the root route matches every alert; it takes no matchers"
        )
    receiver = raw.get("receiver", parent.receiver if parent else None)
    if receiver not in receivers:
        raise ConfigError(f"{where}: {at}.receiver: {receiver!r} is not a configured receiver")
    group_by = raw.get("group_by", list(parent.group_by) if parent else [])
    if not isinstance(group_by, list) or not all(isinstance(g, str) for g in group_by):
        raise ConfigError(f"{where}: {at}.group_by must be a list of label names")
    timers = _timers(raw, f"{where}: {at}", parent)
    own_key = "{" + ",".join(f"{m.name}{m.op.value}{_go_quote(m.value)}" for m in matchers) + "}"
    key = f"{parent.key}/{own_key}" if parent else own_key
    node = Route(
        receiver=str(receiver),
        matchers=matchers,
        group_by=tuple(group_by),
        group_wait_s=timers["group_wait"],
        group_interval_s=timers["group_interval"],
        repeat_interval_s=timers["repeat_interval"],
        continue_matching=bool(raw.get("continue", False)),
        key=key,
    )
    children = raw.get("routes", []) or []
    if not isinstance(children, list):
        raise ConfigError(f"{where}: {at}.routes must be a list")
    built = tuple(
        _route(child, where, f"{at}.routes[{i}]", node, receivers)
        for i, child in enumerate(children)
    )
    return replace(node, routes=built)


def _timers(raw: Mapping[str, Any], at: str, parent: Route | None) -> dict[str, float]:
    """group_wait / group_interval / repeat_interval: given, else the parent's, else defaults."""
    timers = {}
    for name, default in (
        ("group_wait", parent.group_wait_s if parent else DEFAULT_GROUP_WAIT_S),
        ("group_interval", parent.group_interval_s if parent else DEFAULT_GROUP_INTERVAL_S),
        ("repeat_interval", parent.repeat_interval_s if parent else DEFAULT_REPEAT_INTERVAL_S),
    ):
        timers[name] = _seconds(raw[name], f"{at}.{name}") if name in raw else default
    if timers["group_interval"] <= 0 or timers["repeat_interval"] <= 0:
        raise ConfigError(f"{at}: group_interval and repeat_interval must be above 0")
    return timers


def _route_matchers(raw: Mapping[str, Any], at: str) -> tuple[Matcher, ...]:
    found: list[Matcher] = []
    items = raw.get("matchers", []) or []
    if not isinstance(items, list):
        raise ConfigError(f'{at}.matchers must be a list of strings like severity="page"')
    found.extend(parse_matcher(item, f"{at}.matchers[{i}]") for i, item in enumerate(items))
    for key, op in (("match", MatchOp.EQUAL), ("match_re", MatchOp.REGEX)):
        mapping = raw.get(key, {}) or {}
        if not isinstance(mapping, dict):
            raise ConfigError(f"{at}.{key} must be a mapping of label names to values")
        for name, value in mapping.items():
            found.append(parse_matcher(f"{name}{op.value}{_go_quote(str(value))}", f"{at}.{key}"))
    return tuple(found)


def _go_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _windows(raw: Any, where: str) -> tuple[MaintenanceWindow, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: maintenance_windows must be a list")
    windows = []
    for index, item in enumerate(raw):
        at = f"{where}: maintenance_windows[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("service"), str):
            raise ConfigError(f"{at} needs a service, a start and an end")
        unknown = set(item) - {"service", "start", "end", "comment"}
        if unknown:
            raise ConfigError(f"{at}: unknown field(s) {', '.join(sorted(unknown))}")
        start, end = (
            _moment(item.get("start"), f"{at}.start"),
            _moment(item.get("end"), f"{at}.end"),
        )
        if end <= start:
            raise ConfigError(f"{at}: end must be after start")
        windows.append(MaintenanceWindow(item["service"], start, end, str(item.get("comment", ""))))
    return tuple(windows)


def _moment(raw: Any, at: str) -> datetime:
    if isinstance(raw, datetime):
        if raw.tzinfo is None:
            raise ConfigError(f"{at}: give a time zone (e.g. 2026-01-01T02:00:00Z)")
        return as_utc(raw)
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return as_utc(moment)
    raise ConfigError(f"{at}: {raw!r} is not an ISO 8601 time with a zone (2026-01-01T02:00:00Z)")
