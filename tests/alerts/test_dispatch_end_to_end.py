"""From samples to a receiver: a rule fires, is notified once, resolves, the resolve goes out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from alerts.config import load_alerting_config
from alerts.dispatch import run_dispatch
from alerts.evaluator import evaluate_group
from collector.series import MemorySource, SeriesData
from core.clock import to_ms
from core.config import RawConfig
from tests.alerts.receiver_server import Receiver, running

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_down_target_pages_once_then_resolves(engine, tmp_path):
    (tmp_path / "rules.yml").write_text(
        "groups:\n"
        "  - name: nodes\n"
        "    rules:\n"
        "      - alert: InstanceDown\n"
        "        expr: up == 0\n"
        "        for: 1m\n"
        "        labels: {severity: page}\n"
        "        annotations: {summary: '{{ $labels.instance }} is down'}\n"
    )
    up = SeriesData({"__name__": "up", "job": "node", "instance": "n1:9100"})
    for second in range(0, 601, 15):
        up.timestamps_ms.append(to_ms(at(second)))
        up.values.append(0.0 if second < 300 else 1.0)
    source = MemorySource([up])
    with running(Receiver()) as rx:
        raw = RawConfig(
            {
                "rule_files": ["rules.yml"],
                "receivers": [{"name": "ops", "webhook": {"url": rx.url}}],
                "route": {"receiver": "ops", "group_by": ["alertname"], "group_interval": "1m"},
            },
            tmp_path / "opsloop.yml",
        )
        config = load_alerting_config(raw, "http://opsloop.example")
        (group,) = config.groups
        for second in range(0, 601, 30):
            with Session(engine) as s:
                evaluate_group(s, group, source, at(second))
                s.commit()
            run_dispatch(engine, config.dispatch, at(second))
        bodies = [r.json() for r in rx.requests]
    assert [b["status"] for b in bodies] == ["firing", "resolved"]
    firing = bodies[0]["alerts"][0]
    assert firing["labels"] == {
        "alertname": "InstanceDown",
        "instance": "n1:9100",
        "job": "node",
        "severity": "page",
    }
    assert firing["annotations"] == {"summary": "n1:9100 is down"}
    assert firing["startsAt"] == "2026-11-26T12:01:00Z"  # fired after `for`
    assert bodies[1]["alerts"][0]["endsAt"] == "2026-11-26T12:05:00Z"
