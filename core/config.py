"""Config-as-code: load the OPSLOOP_CONFIG YAML file; each package parses its own section."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError

# Top-level sections; each is parsed by the package that owns it.
KNOWN_SECTIONS = frozenset(
    {
        "global",
        "scrape_configs",
        "services",
        "slos",
        "rule_files",
        "alerting",
        "receivers",
        "route",
        "inhibit_rules",
        "maintenance_windows",
        "feedback_sources",
        "feedback",
        "plan",
        "exporters",
        "demo",
    }
)


@dataclass(frozen=True)
class RawConfig:
    """The parsed YAML document and where it came from (paths inside are relative to it)."""

    data: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def section(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)


def load_config(path: Path | None) -> RawConfig:
    if path is None:
        return RawConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    return parse_config(text, path)


def parse_config(text: str, path: Path | None = None) -> RawConfig:
    where = str(path) if path else "<config>"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}{line}: invalid YAML: {problem}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the top level must be a mapping")
    unknown = sorted(set(data) - KNOWN_SECTIONS)
    if unknown:
        raise ConfigError(f"{where}: unknown section(s): {', '.join(unknown)}")
    return RawConfig(data=data, path=path)
