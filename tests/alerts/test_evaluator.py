"""Rule evaluation stored in the database: history, `for` surviving a restart, shorthands."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from alerts.config import all_rule_groups
from alerts.evaluator import evaluate_group
from alerts.models import Alert, AlertEvent
from alerts.rules import AlertRule, RuleGroup
from alerts.shorthands import SLO_BURN_ALERT, TARGET_DOWN_ALERT
from collector.series import MemorySource, SeriesData
from collector.services import load_services
from core.clock import to_ms
from core.config import RawConfig

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RULE = AlertRule(
    alert="InstanceDown",
    expr="up == 0",
    for_s=60.0,
    labels={"severity": "page"},
    annotations={"summary": "{{ $labels.instance }} is down"},
)
GROUP = RuleGroup("nodes", (RULE,))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def up_series(values: dict[float, float], instance: str = "a:9100") -> SeriesData:
    points = sorted(values.items())
    return SeriesData(
        {"__name__": "up", "job": "node", "instance": instance},
        [to_ms(at(t)) for t, _ in points],
        [v for _, v in points],
    )


def events(session: Session) -> list[tuple[str | None, str]]:
    rows = session.exec(select(AlertEvent).order_by(AlertEvent.id)).all()
    return [(e.from_state, e.to_state) for e in rows]


def test_every_state_change_is_stored_and_for_survives_a_restart(engine):
    source = MemorySource([up_series({0: 0, 30: 0, 60: 0, 90: 1})])
    with Session(engine) as s:
        evaluate_group(s, GROUP, source, at(0))
        s.commit()
    # A new session (a restarted process) keeps counting `for` from the stored active_at.
    with Session(engine) as s:
        evaluate_group(s, GROUP, source, at(30))
        s.commit()
        (alert,) = s.exec(select(Alert)).all()
        assert alert.state == "pending" and alert.active_at == at(0)
    with Session(engine) as s:
        evaluate_group(s, GROUP, source, at(60))
        s.commit()
        (alert,) = s.exec(select(Alert)).all()
        assert alert.state == "firing" and alert.fired_at == at(60)
        assert alert.annotation_map == {"summary": "a:9100 is down"}
        assert alert.label_map["alertname"] == "InstanceDown"
        assert alert.rule_group == "nodes"
    with Session(engine) as s:
        evaluate_group(s, GROUP, source, at(90))
        s.commit()
        (alert,) = s.exec(select(Alert)).all()
        assert alert.state == "resolved" and alert.resolved_at == at(90)
        assert events(s) == [(None, "pending"), ("pending", "firing"), ("firing", "resolved")]
    # Kept for 15 minutes without new writes, then left alone as history.
    with Session(engine) as s:
        report = evaluate_group(s, GROUP, source, at(120))
        s.commit()
        assert report.alerts == 1 and report.transitions == 0
        assert len(events(s)) == 3


def test_a_pending_alert_that_disappears_leaves_nothing(engine):
    source = MemorySource([up_series({0: 0, 30: 1})])
    with Session(engine) as s:
        evaluate_group(s, GROUP, source, at(0))
        s.commit()
        evaluate_group(s, GROUP, source, at(30))
        s.commit()
        assert s.exec(select(Alert)).all() == []
        assert events(s) == []


def test_a_returning_alert_is_a_new_occurrence(engine):
    rule = AlertRule(alert="InstanceDown", expr="up == 0")
    group = RuleGroup("nodes", (rule,))
    source = MemorySource([up_series({0: 0, 30: 1, 60: 0})])
    with Session(engine) as s:
        for second in (0, 30, 60):
            evaluate_group(s, group, source, at(second))
            s.commit()
        rows = s.exec(select(Alert).order_by(Alert.id)).all()
    assert [(r.state, r.starts_at) for r in rows] == [("resolved", at(0)), ("firing", at(60))]


def test_a_failing_query_is_reported_and_the_other_rules_still_run(engine):
    bad = AlertRule(alert="Bad", expr='label_replace(up, "a", "b", "c", "(")')
    group = RuleGroup("mixed", (bad, AlertRule(alert="Up", expr="up == 0")))
    with Session(engine) as s:
        report = evaluate_group(s, group, MemorySource([up_series({0: 0})]), at(0))
        s.commit()
        assert report.rules == 1 and len(report.errors) == 1
        assert report.errors[0].startswith("Bad")
        assert [a.alertname for a in s.exec(select(Alert)).all()] == ["Up"]


CONFIG = {
    "services": [
        {"name": "api", "job": "api", "depends_on": ["db"]},
        {"name": "db", "job": "postgres"},
    ],
    "slos": [{"name": "availability", "service": "api", "sli": "error_ratio", "objective": 0.99}],
    "alerting": {"shorthands": {"target_down": True, "slo_burn": {"min_request_rate": 0.5}}},
}


def _requests(code: str, per_s: float) -> SeriesData:
    """A counter growing at per_s for 3 days, sampled every 5 minutes."""
    times = list(range(-3 * 86400, 1, 300))
    return SeriesData(
        {"__name__": "http_requests_total", "job": "api", "instance": "a", "code": code},
        [to_ms(at(t)) for t in times],
        [per_s * (t + 3 * 86400) for t in times],
    )


def test_shorthands_fire_target_down_and_the_fast_burn_page(engine):
    raw = RawConfig(CONFIG)
    groups = {g.name: g for g in all_rule_groups(raw, load_services(raw))}
    source = MemorySource(
        [
            SeriesData(
                {"__name__": "up", "job": "postgres", "instance": "db:5432"}, [to_ms(T0)], [0]
            ),
            _requests("200", 9.0),
            _requests("500", 1.0),  # 10% errors: burning a 1% budget 10x
        ]
    )
    with Session(engine) as s:
        for group in groups.values():
            evaluate_group(s, group, source, at(0))
            evaluate_group(s, group, source, at(60))
        s.commit()
        alerts = s.exec(select(Alert).where(Alert.state == "firing")).all()
    down = [a for a in alerts if a.alertname == TARGET_DOWN_ALERT]
    assert [a.service for a in down] == ["db"]
    burns = sorted(
        (a.label_map["severity"], a.label_map["long_window"])
        for a in alerts
        if a.alertname == SLO_BURN_ALERT
    )
    # 10x: above 6x (page, 6h/30m) and 3x and 1x (tickets), below 14.4x (page, 1h/5m).
    assert burns == [("page", "6h"), ("ticket", "1d"), ("ticket", "3d")]


def test_the_minimum_traffic_guard_keeps_an_idle_service_quiet(engine):
    raw = RawConfig(CONFIG)
    groups = [g for g in all_rule_groups(raw, load_services(raw)) if "slo" in g.name]
    source = MemorySource([_requests("200", 0.09), _requests("500", 0.01)])  # 0.1 req/s
    with Session(engine) as s:
        for group in groups:
            evaluate_group(s, group, source, at(0))
        s.commit()
        assert s.exec(select(Alert)).all() == []


def test_alerts_of_a_removed_or_changed_rule_are_closed(engine):
    from alerts.evaluator import resolve_orphans

    source = MemorySource([up_series({0: 0, 60: 0}), up_series({0: 0, 60: 0}, "b:9100")])
    fast = RuleGroup("fast", (AlertRule(alert="Fast", expr="up == 0"),))
    with Session(engine) as s:
        evaluate_group(s, GROUP, source, at(0))  # pending
        evaluate_group(s, fast, source, at(0))  # firing at once
        s.commit()
        kept = RuleGroup("fast", (AlertRule(alert="Fast", expr="up == 0"),))
        assert resolve_orphans(s, [GROUP, kept], at(30)) == 0
        # The page severity became ticket: the old alerts no longer belong to the rule.
        changed = RuleGroup("nodes", (replace(RULE, labels={"severity": "ticket"}),))
        assert resolve_orphans(s, [changed], at(60)) == 4
        rows = s.exec(select(Alert).order_by(Alert.id)).all()
    # Pending ones are dropped, firing ones resolved (so their resolve is notified).
    assert [(a.alertname, a.state) for a in rows] == [("Fast", "resolved"), ("Fast", "resolved")]
