"""scrape_configs in Prometheus's shape, relabel semantics, target sync with file_sd."""

import json
import os
from pathlib import Path

import pytest
from sqlmodel import Session

from collector.config import load_scrape_config
from collector.errors import ScrapeConfigError
from collector.relabel import parse_rules, relabel
from collector.runner import collector_state, sync_targets
from collector.targets import FileSDState, file_sd_changed, list_targets, sync_config_targets
from core.config import parse_config

PROMETHEUS_JOB = """
global:
  scrape_interval: 30s
  scrape_timeout: 5s
scrape_configs:
  - job_name: node
    metrics_path: /probe
    scheme: https
    params:
      module: [http_2xx]
    scrape_interval: 1m30s
    basic_auth:
      username: prom
      password: secret
    static_configs:
      - targets: ["10.0.0.1:9100", "10.0.0.2:9100"]
        labels:
          env: prod
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
    sample_limit: 5000
    body_size_limit: 10MB
  - job_name: api
    authorization:
      credentials: tok
    static_configs:
      - targets: ["api:8080"]
"""


def test_a_job_pasted_from_prometheus_yml_is_understood():
    cfg = load_scrape_config(parse_config(PROMETHEUS_JOB, Path("/etc/opsloop.yml")))
    node = cfg.job("node")
    assert node.interval_s == 90 and node.timeout_s == 5
    assert node.url_for("10.0.0.1:9100") == "https://10.0.0.1:9100/probe?module=http_2xx"
    assert node.basic_auth == ("prom", "secret")
    assert node.sample_limit == 5000 and node.body_limit_bytes == 10 * 1024 * 1024
    assert [t.labels for t in node.static_targets] == [{"env": "prod"}] * 2
    api = cfg.job("api")
    assert api.headers == {"Authorization": "Bearer tok"}
    assert api.interval_s == 30 and api.body_limit_bytes == 16 * 1024 * 1024
    assert cfg.job("unknown-api-job").interval_s == 30  # API-added targets get the defaults


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("scrape_configs:\n  - static_configs: []\n", "scrape_configs[0]: needs a job_name"),
        (
            "scrape_configs:\n  - job_name: a\n    scrape_interval: soon\n",
            "job 'a'): scrape_interval: 'soon' is not a duration",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n",
            "scrape_timeout is greater than scrape_interval",
        ),
        ("scrape_configs:\n  - job_name: a\n  - job_name: a\n", "job 'a' is defined twice"),
        (
            "scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n"
            "      - action: hashmod\n",
            "unsupported action 'hashmod'",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    static_configs:\n"
            "      - targets: ['http://x/metrics']\n",
            "is not a host:port",
        ),
        ("scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs: []\n", "unsupported field"),
    ],
)
def test_config_errors_name_the_file_the_job_and_the_problem(yaml_text, message):
    with pytest.raises(ScrapeConfigError) as caught:
        load_scrape_config(parse_config(yaml_text, Path("/etc/opsloop.yml")))
    assert str(caught.value).startswith("/etc/opsloop.yml: ")
    assert message in str(caught.value)


def _rules(raw):
    return parse_rules(raw, "test")


def test_relabel_keep_and_drop_join_source_labels_with_the_separator():
    rules = _rules(
        [{"source_labels": ["__name__", "code"], "regex": "http_total;5..", "action": "keep"}]
    )
    assert relabel({"__name__": "http_total", "code": "500"}, rules) is not None
    assert relabel({"__name__": "http_total", "code": "200"}, rules) is None
    # the regex is anchored: a partial match does not keep
    rules = _rules([{"source_labels": ["code"], "regex": "5", "action": "keep"}])
    assert relabel({"__name__": "x", "code": "500"}, rules) is None
    # a missing label is the empty string
    rules = _rules([{"source_labels": ["missing"], "regex": "", "action": "drop"}])
    assert relabel({"__name__": "x"}, rules) is None


def test_relabel_labeldrop_labelkeep_and_replace_defaults():
    labels = {"__name__": "m", "pod": "a", "pod_ip": "1", "job": "j"}
    assert relabel(labels, _rules([{"regex": "pod.*", "action": "labeldrop"}])) == {
        "__name__": "m",
        "job": "j",
    }
    kept = relabel(labels, _rules([{"regex": "__name__|job", "action": "labelkeep"}]))
    assert kept == {"__name__": "m", "job": "j"}
    renamed = relabel(
        labels, _rules([{"source_labels": ["pod"], "target_label": "app", "regex": "(.)"}])
    )
    assert renamed["app"] == "a" and labels.get("app") is None  # input never changed


def test_file_sd_targets_are_synced_and_reloaded_when_the_file_changes(engine, tmp_path):
    sd = tmp_path / "targets.json"
    sd.write_text(json.dumps([{"targets": ["a:1", "b:2"], "labels": {"zone": "x"}}]))
    text = "scrape_configs:\n  - job_name: sd\n    file_sd_configs:\n      - files: ['*.json']\n"
    cfg = load_scrape_config(parse_config(text, tmp_path / "opsloop.yml"))
    state = FileSDState()
    with Session(engine) as session:
        sync_config_targets(session, cfg, state)
        session.commit()
        assert [t.url for t in list_targets(session)] == [
            "http://a:1/metrics",
            "http://b:2/metrics",
        ]
    assert not file_sd_changed(cfg, state)
    sd.write_text(json.dumps([{"targets": ["b:2", "c:3"]}]))
    os.utime(sd, (sd.stat().st_atime, sd.stat().st_mtime + 5))
    assert file_sd_changed(cfg, state)
    with Session(engine) as session:
        sync_config_targets(session, cfg, state)
        session.commit()
        targets = list_targets(session)
    assert [t.url for t in targets] == ["http://b:2/metrics", "http://c:3/metrics"]
    assert all(t.labels == "{}" for t in targets)


def test_the_runtime_sync_adds_the_self_target(runtime):
    assert sync_targets(runtime) is True
    assert sync_targets(runtime) is False  # nothing changed since
    with Session(runtime.engine) as session:
        (me,) = list_targets(session)
    assert (me.job, me.source) == ("opsloop", "self")
    assert me.url == f"{runtime.settings.public_url}/metrics"
    assert collector_state(runtime).config.jobs == ()
