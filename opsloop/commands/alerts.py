"""`opsloop rules ...`: check rule files, export every rule as a Prometheus rule file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import yaml

from alerts.config import all_rule_groups
from alerts.errors import AlertsError
from alerts.rules import RuleGroup, check_rule_file
from collector.errors import CollectorError
from collector.services import load_services
from core.config import load_config
from core.durations import format_duration_s
from core.settings import load_settings


@click.group("rules")
def rules() -> None:
    """Alerting rules (Prometheus rule-file format)."""


@rules.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def rules_check(files: tuple[Path, ...]) -> None:
    """Report every problem of the rule FILES with its line; exit 1 if there is any."""
    count = 0
    for path in files:
        problems = check_rule_file(path)
        for problem in problems:
            click.echo(str(problem))
        count += len(problems)
        if not problems:
            click.echo(f"{path}: OK")
    if count:
        click.echo(f"{count} problem(s) found", err=True)
        sys.exit(1)


@rules.command("export")
def rules_export() -> None:
    """Write every rule (rule files and shorthands, as PromQL) as a Prometheus rule file."""
    config = load_config(load_settings().config_path)
    try:
        groups = all_rule_groups(config, load_services(config))
    except (AlertsError, CollectorError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(export_rule_file(groups), nl=False)


class _Dumper(yaml.SafeDumper):
    """Multi-line expressions as `|` blocks, so the exported file stays readable."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def export_rule_file(groups: list[RuleGroup]) -> str:
    document: dict[str, Any] = {"groups": [_group(g) for g in groups]}
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _group(group: RuleGroup) -> dict[str, Any]:
    data: dict[str, Any] = {"name": group.name}
    if group.interval_s is not None:
        data["interval"] = format_duration_s(group.interval_s)
    rules = []
    for rule in group.rules:
        item: dict[str, Any] = {"alert": rule.alert, "expr": rule.expr}
        if rule.for_s:
            item["for"] = format_duration_s(rule.for_s)
        if rule.keep_firing_for_s:
            item["keep_firing_for"] = format_duration_s(rule.keep_firing_for_s)
        if rule.labels:
            item["labels"] = dict(rule.labels)
        if rule.annotations:
            item["annotations"] = dict(rule.annotations)
        rules.append(item)
    data["rules"] = rules
    return data
