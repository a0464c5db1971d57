"""metric_relabel_configs with Prometheus semantics: keep, drop, labeldrop, labelkeep, replace.

Defaults as in Prometheus: action `replace`, separator `;`, regex `(.*)` anchored at both
ends, replacement `$1`. Source label values are joined with the separator (a missing label
is the empty string), and `__name__` is a label like any other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from collector.errors import ScrapeConfigError

_DOLLAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


class RelabelAction(StrEnum):
    REPLACE = "replace"
    KEEP = "keep"
    DROP = "drop"
    LABELDROP = "labeldrop"
    LABELKEEP = "labelkeep"


@dataclass(frozen=True)
class RelabelRule:
    action: RelabelAction
    regex: re.Pattern[str]
    source_labels: tuple[str, ...] = ()
    separator: str = ";"
    target_label: str = ""
    replacement: str = "$1"

    def joined(self, labels: Mapping[str, str]) -> str:
        return self.separator.join(labels.get(name, "") for name in self.source_labels)


def parse_rule(raw: Any, where: str) -> RelabelRule:
    """One rule of a metric_relabel_configs list; `where` prefixes every error message."""
    if not isinstance(raw, dict):
        raise ScrapeConfigError(f"{where}: a relabel rule must be a mapping")
    unknown = set(raw) - {
        "action",
        "source_labels",
        "separator",
        "regex",
        "target_label",
        "replacement",
    }
    if unknown:
        raise ScrapeConfigError(f"{where}: unknown relabel field(s) {', '.join(sorted(unknown))}")
    try:
        action = RelabelAction(str(raw.get("action", "replace")).lower())
    except ValueError:
        allowed = ", ".join(a.value for a in RelabelAction)
        raise ScrapeConfigError(
            f"{where}: unsupported action {raw.get('action')!r} (supported: {allowed})"
        ) from None
    pattern = str(raw.get("regex", "(.*)"))
    try:
        regex = re.compile(f"^(?:{pattern})$", re.DOTALL)
    except re.error as exc:
        raise ScrapeConfigError(f"{where}: bad regex {pattern!r}: {exc}") from exc
    sources = raw.get("source_labels", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise ScrapeConfigError(f"{where}: source_labels must be a list of label names")
    rule = RelabelRule(
        action=action,
        regex=regex,
        source_labels=tuple(sources),
        separator=str(raw.get("separator", ";")),
        target_label=str(raw.get("target_label", "")),
        replacement=str(raw.get("replacement", "$1")),
    )
    if action in {RelabelAction.KEEP, RelabelAction.DROP} and not sources:
        raise ScrapeConfigError(f"{where}: {action.value} needs source_labels")
    if action is RelabelAction.REPLACE and not rule.target_label:
        raise ScrapeConfigError(f"{where}: replace needs target_label")
    if action in {RelabelAction.LABELDROP, RelabelAction.LABELKEEP} and (
        sources or "target_label" in raw
    ):
        raise ScrapeConfigError(
            f"{where}: {action.value} takes only regex (no source_labels/target_label)"
        )
    return rule


def parse_rules(raw: Any, where: str) -> tuple[RelabelRule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ScrapeConfigError(f"{where}: must be a list of relabel rules")
    return tuple(parse_rule(r, f"{where}[{i}]") for i, r in enumerate(raw))


def _expand(template: str, match: re.Match[str]) -> str:
    def group(m: re.Match[str]) -> str:
        key = m.group(1) or m.group(2)
        try:
            value = match.group(int(key)) if key.isdigit() else match.group(key)
        except IndexError:  # re raises it for unknown group numbers and names
            return ""
        return value or ""

    return _DOLLAR.sub(group, template)


def relabel(labels: dict[str, str], rules: Sequence[RelabelRule]) -> dict[str, str] | None:
    """Apply rules to labels (with __name__); None when the series is dropped.

    The input dict is never changed: a rule that changes labels works on a copy.
    """
    current = labels
    for rule in rules:
        action = rule.action
        if action is RelabelAction.KEEP:
            if rule.regex.match(rule.joined(current)) is None:
                return None
        elif action is RelabelAction.DROP:
            if rule.regex.match(rule.joined(current)) is not None:
                return None
        elif action is RelabelAction.LABELDROP:
            current = {k: v for k, v in current.items() if rule.regex.match(k) is None}
        elif action is RelabelAction.LABELKEEP:
            current = {k: v for k, v in current.items() if rule.regex.match(k) is not None}
        else:
            found = rule.regex.match(rule.joined(current))
            if found is None:
                continue
            target = _expand(rule.target_label, found)
            value = _expand(rule.replacement, found)
            current = dict(current)
            if value:
                current[target] = value
            else:
                current.pop(target, None)
    return current
