"""Rule files in Prometheus's format: parsed, and every problem reported with its line."""

from pathlib import Path

import pytest

from alerts.errors import RuleError
from alerts.rules import load_rule_files, parse_rule_text
from core.config import RawConfig

GOOD = """\
groups:
  - name: api
    interval: 30s
    rules:
      - alert: HighErrorRate
        expr: sum(rate(http_requests_total{code=~"5.."}[5m])) > 1
        for: 5m
        keep_firing_for: 1m
        labels:
          severity: page
        annotations:
          summary: "{{ $value | humanize }} errors/s"
"""

BROKEN = """\
groups:
  - name: api
    interval: soon
    rules:
      - alert: Bad
        expr: sum(rate(x[5m]) >
        for: 5
      - alert: NoExpr
        labels:
          bad-name: x
      - record: job:up:sum
        expr: sum(up)
      - alert: Templ
        expr: up == 0
        annotations:
          summary: "{{ if $value }}"
        lables: {}
  - name: api
    rules: []
"""


def test_a_good_file_gives_its_groups_and_rules():
    groups, problems = parse_rule_text(GOOD, "good.yml")
    assert problems == []
    (group,) = groups
    assert group.name == "api" and group.interval_s == 30.0
    (rule,) = group.rules
    assert rule.alert == "HighErrorRate"
    assert rule.for_s == 300.0 and rule.keep_firing_for_s == 60.0
    assert rule.labels == {"severity": "page"}
    assert rule.annotations["summary"] == "{{ $value | humanize }} errors/s"
    assert rule.origin == "good.yml:5"


def test_every_problem_is_reported_with_its_line():
    _, problems = parse_rule_text(BROKEN, "bad.yml")
    lines = sorted({p.line for p in problems})
    assert lines == [3, 6, 7, 8, 10, 11, 16, 17, 18], [str(p) for p in problems]
    assert all(str(p).startswith(f"bad.yml:{p.line}: ") for p in problems)
    messages = "\n".join(str(p) for p in problems)
    assert "bad.yml:3: group interval: 'soon' is not a duration" in messages
    assert "bad.yml:6: expr:" in messages
    assert "bad.yml:7: for: '5' is not a duration" in messages
    assert "bad.yml:8: rule: 'expr' is missing" in messages
    assert "'bad-name' is not a valid label name" in messages
    assert "recording rules are not supported" in messages
    assert "template error" in messages
    assert "bad.yml:17: rule: unknown field 'lables' (did you mean 'labels'?)" in messages
    assert "bad.yml:18: group name 'api' is used twice" in messages


def test_invalid_yaml_is_one_problem_with_its_line():
    _, problems = parse_rule_text("groups:\n  - name: [\n", "x.yml")
    assert len(problems) == 1 and problems[0].line >= 2
    assert "invalid YAML" in problems[0].message


def test_rule_files_are_globs_relative_to_the_config_file(tmp_path: Path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.yml").write_text(GOOD)
    (tmp_path / "rules" / "b.yml").write_text(GOOD.replace("name: api", "name: web"))
    config = RawConfig({"rule_files": ["rules/*.yml"]}, tmp_path / "opsloop.yml")
    assert [g.name for g in load_rule_files(config)] == ["api", "web"]


def test_a_missing_rule_file_and_a_broken_one_are_errors(tmp_path: Path):
    config = RawConfig({"rule_files": ["nope.yml"]}, tmp_path / "opsloop.yml")
    with pytest.raises(RuleError, match=r"'nope\.yml' does not exist"):
        load_rule_files(config)
    (tmp_path / "bad.yml").write_text(BROKEN)
    config = RawConfig({"rule_files": ["bad.yml"]}, tmp_path / "opsloop.yml")
    with pytest.raises(RuleError, match=r"bad.yml:3: "):
        load_rule_files(config)
