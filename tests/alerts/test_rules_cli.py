"""`opsloop rules check` and `opsloop rules export`, run as real processes; export vs promtool."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.alerts.test_rules import BROKEN, GOOD

CONFIG = """\
rule_files: ["rules/*.yml"]
services:
  - {name: api, job: api, depends_on: [db]}
  - {name: db, job: postgres}
slos:
  - {name: availability, service: api, sli: error_ratio, objective: 0.999}
  - {name: latency, service: api, sli: latency, objective: 0.99, threshold: 300ms}
alerting:
  shorthands: {target_down: true, slo_burn: true}
"""


def opsloop(args: list[str], tmp_path: Path, config: Path | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSLOOP_", "DATABASE_URL"))}
    env["OPSLOOP_VAR_DIR"] = str(tmp_path / "var")
    if config is not None:
        env["OPSLOOP_CONFIG"] = str(config)
    return subprocess.run(
        [sys.executable, "-m", "opsloop", "rules", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def test_check_prints_each_problem_with_its_line_and_exits_1(tmp_path: Path):
    (tmp_path / "bad.yml").write_text(BROKEN)
    (tmp_path / "good.yml").write_text(GOOD)
    result = opsloop(["check", "good.yml", "bad.yml"], tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "good.yml: OK"
    problems = lines[1:]
    assert [line.split(":")[1] for line in problems] == [
        "3", "6", "7", "8", "10", "11", "16", "17", "18",
    ]  # fmt: skip
    assert all(line.startswith("bad.yml:") for line in problems)
    assert "9 problem(s) found" in result.stderr


def test_check_of_a_good_file_exits_0(tmp_path: Path):
    (tmp_path / "good.yml").write_text(GOOD)
    result = opsloop(["check", "good.yml"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def _export(tmp_path: Path) -> str:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "api.yml").write_text(GOOD)
    config = tmp_path / "opsloop.yml"
    config.write_text(CONFIG)
    result = opsloop(["export"], tmp_path, config)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_export_writes_rule_files_and_expanded_shorthands(tmp_path: Path):
    document = yaml.safe_load(_export(tmp_path))
    names = [g["name"] for g in document["groups"]]
    assert names == [
        "api", "opsloop.target_down", "opsloop.slo_burn.page", "opsloop.slo_burn.ticket",
    ]  # fmt: skip
    down = document["groups"][1]["rules"]
    assert down[0] == {
        "alert": "TargetDown",
        "expr": 'up{job="api"} == 0',
        "for": "1m",
        "labels": {"severity": "page", "service": "api"},
        "annotations": down[0]["annotations"],
    }
    assert document["groups"][3]["interval"] == "5m"
    burn = document["groups"][2]["rules"]
    page = next(r for r in burn if r["labels"]["slo"] == "availability")
    assert "[1h]" in page["expr"] and "[5m]" in page["expr"] and "> 0.0144" in page["expr"]
    assert document["groups"][0]["interval"] == "30s"


def test_export_passes_promtool_check_rules(tmp_path: Path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package 'prometheus'; `make debs`)")
    exported = tmp_path / "exported.yml"
    exported.write_text(_export(tmp_path))
    result = subprocess.run(
        [promtool, "check", "rules", str(exported)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_export_with_a_broken_rule_file_fails_with_its_problems(tmp_path: Path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "bad.yml").write_text(BROKEN)
    config = tmp_path / "opsloop.yml"
    config.write_text('rule_files: ["rules/*.yml"]\n')
    result = opsloop(["export"], tmp_path, config)
    assert result.returncode == 1
    assert "bad.yml:3: group interval" in result.stderr
