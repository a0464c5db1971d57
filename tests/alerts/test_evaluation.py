"""The rule state machine, driven through every transition with explicit `now`."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts.errors import RuleError
from alerts.evaluation import RESOLVED_RETENTION, label_key, step, to_send
from alerts.models import AlertState
from alerts.rules import AlertRule

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SERIES = {"__name__": "up", "job": "api", "instance": "a:1"}


def rule(**kw):
    base = dict(
        alert="Down",
        expr="up == 0",
        for_s=60.0,
        labels={"severity": "page"},
        annotations={"summary": "{{ $labels.instance }} down, value {{ $value }}"},
    )
    base.update(kw)
    return AlertRule(**base)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def only(outcome):
    assert len(outcome.alerts) == 1
    return next(iter(outcome.alerts.values()))


def states(outcome):
    return [(t.from_state, t.to_state) for t in outcome.transitions]


def test_a_new_result_is_pending_then_firing_after_for():
    r = rule()
    first = step(r, {}, [(SERIES, 0.0)], at(0))
    alert = only(first)
    assert alert.state is AlertState.PENDING
    assert states(first) == [(None, AlertState.PENDING)]
    assert alert.labels == {
        "job": "api",
        "instance": "a:1",
        "severity": "page",
        "alertname": "Down",
    }
    assert alert.annotations == {"summary": "a:1 down, value 0"}

    still = step(r, first.alerts, [(SERIES, 0.0)], at(59))
    assert only(still).state is AlertState.PENDING and still.transitions == []

    fired = step(r, still.alerts, [(SERIES, 0.0)], at(60))
    alert = only(fired)
    assert alert.state is AlertState.FIRING
    assert alert.fired_at == at(60) and alert.active_at == at(0)
    assert states(fired) == [(AlertState.PENDING, AlertState.FIRING)]


def test_without_for_it_fires_on_the_first_evaluation():
    out = step(rule(for_s=0.0), {}, [(SERIES, 0.0)], at(0))
    assert only(out).state is AlertState.FIRING
    assert states(out) == [(None, AlertState.PENDING), (AlertState.PENDING, AlertState.FIRING)]


def test_a_pending_alert_that_disappears_is_dropped_without_a_resolve():
    r = rule()
    first = step(r, {}, [(SERIES, 0.0)], at(0))
    gone = step(r, first.alerts, [], at(30))
    assert gone.alerts == {}
    assert states(gone) == [(AlertState.PENDING, None)]
    assert to_send(gone.alerts, at(30)) == []


def test_a_firing_alert_that_disappears_is_resolved_kept_15_minutes_then_forgotten():
    r = rule(for_s=0.0)
    fired = step(r, {}, [(SERIES, 0.0)], at(0))
    resolved = step(r, fired.alerts, [], at(15))
    alert = only(resolved)
    assert alert.state is AlertState.RESOLVED and alert.resolved_at == at(15)
    assert states(resolved) == [(AlertState.FIRING, AlertState.RESOLVED)]

    later = step(r, resolved.alerts, [], at(15) + RESOLVED_RETENTION - timedelta(seconds=1))
    assert only(later).state is AlertState.RESOLVED and later.transitions == []
    assert [a.state for a in to_send(later.alerts, at(15) + timedelta(minutes=14))] == [
        AlertState.RESOLVED
    ]

    forgotten = step(r, later.alerts, [], at(15) + RESOLVED_RETENTION)
    assert forgotten.alerts == {}
    assert states(forgotten) == [(AlertState.RESOLVED, None)]


def test_keep_firing_for_holds_a_vanished_alert_then_resolves_it():
    r = rule(for_s=0.0, keep_firing_for_s=120.0)
    fired = step(r, {}, [(SERIES, 0.0)], at(0))
    held = step(r, fired.alerts, [], at(15))
    assert only(held).state is AlertState.FIRING
    assert only(held).keep_firing_until == at(135)
    still = step(r, held.alerts, [], at(134))
    assert only(still).state is AlertState.FIRING and still.transitions == []
    done = step(r, still.alerts, [], at(135))
    assert only(done).state is AlertState.RESOLVED


def test_keep_firing_for_restarts_when_the_series_returns():
    r = rule(for_s=0.0, keep_firing_for_s=120.0)
    fired = step(r, {}, [(SERIES, 0.0)], at(0))
    held = step(r, fired.alerts, [], at(15))
    back = step(r, held.alerts, [(SERIES, 0.0)], at(30))
    assert only(back).keep_firing_until is None
    held_again = step(r, back.alerts, [], at(45))
    assert only(held_again).keep_firing_until == at(165)


def test_a_resolved_alert_that_returns_starts_over_as_pending():
    r = rule()
    pending = step(r, {}, [(SERIES, 0.0)], at(0))
    fired = step(r, pending.alerts, [(SERIES, 0.0)], at(60))
    resolved = step(r, fired.alerts, [], at(75))
    back = step(r, resolved.alerts, [(SERIES, 0.0)], at(90))
    alert = only(back)
    assert alert.state is AlertState.PENDING and alert.active_at == at(90)
    assert states(back) == [(None, AlertState.PENDING)]


def test_identity_is_the_label_set():
    r = rule(for_s=0.0)
    other = {**SERIES, "instance": "b:1"}
    out = step(r, {}, [(SERIES, 0.0), (other, 0.0)], at(0))
    assert len(out.alerts) == 2
    # The value changes; the alert stays the same one.
    again = step(r, out.alerts, [(SERIES, 1.0), (other, 0.0)], at(15))
    key = label_key(
        {
            **{k: v for k, v in SERIES.items() if k != "__name__"},
            "severity": "page",
            "alertname": "Down",
        }
    )
    assert again.alerts[key].value == 1.0 and again.alerts[key].active_at == at(0)
    assert again.transitions == []


def test_two_series_with_the_same_labels_after_the_rule_labels_are_an_error():
    r = rule(labels={"instance": "fixed"})
    with pytest.raises(RuleError, match="several series"):
        step(r, {}, [(SERIES, 0.0), ({**SERIES, "instance": "b:1"}, 0.0)], at(0))


def test_a_template_error_goes_into_the_text_as_in_prometheus():
    r = rule(annotations={"summary": "{{ humanize $labels.instance }}"})
    out = step(r, {}, [(SERIES, 0.0)], at(0))
    assert only(out).annotations["summary"].startswith("<error expanding template:")
