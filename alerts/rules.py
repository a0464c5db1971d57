"""Alerting rule files in Prometheus's format: read, check (every problem with its line), list.

A file holds `groups:`, each with `name`, optional `interval`, and `rules:` entries with
`alert`, `expr`, `for`, `keep_firing_for`, `labels` and `annotations`. The YAML is walked as
nodes (yaml.compose) rather than loaded as plain data, so that each problem names its line.
"""

from __future__ import annotations

import difflib
import glob
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alerts.errors import RuleError, TemplateError
from alerts.templating import parse_template
from collector.promql import parse_expr
from collector.promql.errors import QueryError
from core.config import RawConfig
from core.durations import parse_duration_s

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
GROUP_KEYS = {"name", "interval", "rules"}
RULE_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
DEFAULT_INTERVAL_S = 15.0


@dataclass(frozen=True)
class AlertRule:
    alert: str
    expr: str
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    origin: str = ""  # "file:line", or "shorthand <name>"


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[AlertRule, ...]
    interval_s: float | None = None  # None: the global evaluation interval
    origin: str = ""
    use_rollups: bool = False  # evaluate on the 5-minute rollups (long windows)

    def interval_or(self, default_s: float) -> float:
        return self.interval_s if self.interval_s is not None else default_s


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class _Checker:
    """Walks one file's YAML nodes, collecting problems instead of stopping at the first."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def report(self, node: yaml.Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(Problem(self.file, line, message))

    def mapping(self, node: yaml.Node, what: str, allowed: set[str]) -> dict[str, Any]:
        """Key → (key node, value node); unknown and duplicate keys are problems."""
        if not isinstance(node, yaml.MappingNode):
            self.report(node, f"{what} must be a mapping")
            return {}
        found: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in found:
                self.report(key_node, f"{what}: {key!r} is given twice")
            elif key not in allowed:
                self.report(key_node, f"{what}: unknown field {key!r}{_hint(key, allowed)}")
            found[key] = (key_node, value_node)
        return found

    def string(self, node: yaml.Node, what: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            self.report(node, f"{what} must be a string")
            return None
        return str(node.value)

    def duration(self, node: yaml.Node, what: str) -> float | None:
        text = self.string(node, what)
        if text is None:
            return None
        try:
            return parse_duration_s(text)
        except ValueError as exc:
            self.report(node, f"{what}: {exc}")
            return None

    def string_map(self, node: yaml.Node, what: str, *, labels: bool) -> dict[str, str]:
        if not isinstance(node, yaml.MappingNode):
            self.report(node, f"{what} must be a mapping of names to strings")
            return {}
        result: dict[str, str] = {}
        for key_node, value_node in node.value:
            name = key_node.value
            if labels and not LABEL_NAME.match(str(name)):
                self.report(key_node, f"{what}: {name!r} is not a valid label name")
                continue
            if labels and name in {"alertname", "__name__"}:
                self.report(key_node, f"{what}: {name!r} cannot be set by a rule")
                continue
            value = self.string(value_node, f"{what}.{name}")
            if value is None:
                continue
            try:
                parse_template(value)
            except TemplateError as exc:
                self.report(value_node, f"{what}.{name}: template error: {exc}")
            result[str(name)] = value
        return result


def parse_rule_text(text: str, file: str = "<rules>") -> tuple[list[RuleGroup], list[Problem]]:
    """Groups of a rule file's text, and every problem found (empty when the file is fine)."""
    checker = _Checker(file)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = mark.line + 1 if mark is not None else 1
        return [], [Problem(file, line, f"invalid YAML: {problem}")]
    if root is None:
        return [], []
    top = checker.mapping(root, "the file", {"groups"})
    if "groups" not in top:
        if isinstance(root, yaml.MappingNode):
            checker.report(root, "the file needs a top-level 'groups' list")
        return [], checker.problems
    groups_node = top["groups"][1]
    if not isinstance(groups_node, yaml.SequenceNode):
        checker.report(groups_node, "'groups' must be a list")
        return [], checker.problems
    groups: list[RuleGroup] = []
    seen: set[str] = set()
    for node in groups_node.value:
        group = _group(checker, node)
        if group is None:
            continue
        if group.name in seen:
            checker.report(node, f"group name {group.name!r} is used twice in this file")
        seen.add(group.name)
        groups.append(group)
    return groups, sorted(checker.problems, key=lambda p: p.line)


def _group(checker: _Checker, node: yaml.Node) -> RuleGroup | None:
    fields = checker.mapping(node, "group", GROUP_KEYS | {"limit", "query_offset"})
    for unsupported in ("limit", "query_offset"):
        if unsupported in fields:
            checker.report(fields[unsupported][0], f"group: {unsupported!r} is not supported")
    name = checker.string(fields["name"][1], "group name") if "name" in fields else None
    if "name" not in fields:
        checker.report(node, "group: 'name' is missing")
    elif not name:
        checker.report(fields["name"][1], "group name must not be empty")
    interval = None
    if "interval" in fields:
        interval = checker.duration(fields["interval"][1], "group interval")
        if interval is not None and interval <= 0:
            checker.report(fields["interval"][1], "group interval must be above 0")
    rules: list[AlertRule] = []
    rules_node = fields.get("rules", (None, None))[1]
    if rules_node is None:
        checker.report(node, f"group {name!r}: 'rules' is missing")
    elif not isinstance(rules_node, yaml.SequenceNode):
        checker.report(rules_node, f"group {name!r}: 'rules' must be a list")
    else:
        for rule_node in rules_node.value:
            rule = _rule(checker, rule_node)
            if rule is not None:
                rules.append(rule)
    if not name:
        return None
    origin = f"{checker.file}:{node.start_mark.line + 1}"
    return RuleGroup(name=name, rules=tuple(rules), interval_s=interval, origin=origin)


def _rule(checker: _Checker, node: yaml.Node) -> AlertRule | None:
    fields = checker.mapping(node, "rule", RULE_KEYS | {"record"})
    if "record" in fields:
        checker.report(
            fields["record"][0],
            "recording rules are not supported by opsloop (keep them in Prometheus)",
        )
        return None
    if "alert" not in fields:
        checker.report(node, "rule: 'alert' is missing")
    if "expr" not in fields:
        checker.report(node, "rule: 'expr' is missing")
    alert = checker.string(fields["alert"][1], "alert") if "alert" in fields else None
    if alert is not None and not LABEL_NAME.match(alert):
        checker.report(fields["alert"][1], f"alert name {alert!r} is not a valid label value")
    expr = checker.string(fields["expr"][1], "expr") if "expr" in fields else None
    if expr is not None:
        _check_expr(checker, fields["expr"][1], expr)
    durations = {}
    for key in ("for", "keep_firing_for"):
        durations[key] = checker.duration(fields[key][1], key) if key in fields else 0.0
    labels = (
        checker.string_map(fields["labels"][1], "labels", labels=True) if "labels" in fields else {}
    )
    annotations = (
        checker.string_map(fields["annotations"][1], "annotations", labels=False)
        if "annotations" in fields
        else {}
    )
    if not alert or not expr or durations["for"] is None or durations["keep_firing_for"] is None:
        return None
    return AlertRule(
        alert=alert,
        expr=expr.strip(),
        for_s=durations["for"],
        keep_firing_for_s=durations["keep_firing_for"],
        labels=labels,
        annotations=annotations,
        origin=f"{checker.file}:{node.start_mark.line + 1}",
    )


def _check_expr(checker: _Checker, node: yaml.Node, expr: str) -> None:
    if not expr.strip():
        checker.report(node, "expr must not be empty")
        return
    try:
        parse_expr(expr)
    except QueryError as exc:
        checker.report(node, f"expr: {exc}")


def _hint(key: str, allowed: set[str]) -> str:
    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_rule_file(path: Path) -> list[Problem]:
    """Every problem of one rule file (an unreadable file is one problem)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [Problem(str(path), 1, f"cannot read: {exc.strerror or exc}")]
    return parse_rule_text(text, str(path))[1]


def load_rule_file(path: Path) -> list[RuleGroup]:
    """Groups of a rule file; RuleError listing every problem when there is any."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    groups, problems = parse_rule_text(text, str(path))
    if problems:
        raise RuleError("\n".join(str(p) for p in problems))
    return groups


def rule_file_paths(config: RawConfig) -> list[Path]:
    """Files named by `rule_files:` (globs allowed), relative to the config file's folder."""
    raw = config.section("rule_files", []) or []
    where = str(config.path) if config.path else "<config>"
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise RuleError(f"{where}: rule_files must be a list of file paths or globs")
    paths: list[Path] = []
    for pattern in raw:
        full = pattern if Path(pattern).is_absolute() else str(config.base_dir / pattern)
        if glob.has_magic(full):
            paths.extend(Path(p) for p in sorted(glob.glob(full)))
        elif Path(full).is_file():
            paths.append(Path(full))
        else:
            raise RuleError(f"{where}: rule_files: {pattern!r} does not exist")
    return paths


def load_rule_files(config: RawConfig) -> list[RuleGroup]:
    """Every group of every configured rule file; group names must be unique across files."""
    groups: list[RuleGroup] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in rule_file_paths(config):
        try:
            file_groups = load_rule_file(path)
        except RuleError as exc:
            problems.append(str(exc))
            continue
        for group in file_groups:
            if group.name in seen:
                problems.append(
                    f"{group.origin}: group {group.name!r} is also in {seen[group.name]}"
                )
            seen[group.name] = group.origin
            groups.append(group)
    if problems:
        raise RuleError("\n".join(problems))
    return groups
