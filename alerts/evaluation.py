"""The alerting rule state machine, with Prometheus's semantics; pure: time comes in as `now`.

inactive → pending → firing → resolved, following prometheus/rules/alerting.go:
- a new result is *pending*; it turns *firing* once it has been active for `for`
  (at once when `for` is 0);
- a *pending* alert whose series disappears is dropped without any notice;
- a *firing* alert whose series disappears keeps firing for `keep_firing_for`, then is
  *resolved*; a resolved alert is kept (and re-sent) for 15 minutes, then forgotten;
- a resolved alert that comes back starts over as a new pending alert;
- identity is the label set (series labels without `__name__`, plus the rule's labels and
  `alertname`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from alerts.errors import RuleError, TemplateError
from alerts.models import AlertState
from alerts.rules import AlertRule
from alerts.templating import TemplateData, render
from collector.series import METRIC_NAME_LABEL

RESOLVED_RETENTION = timedelta(minutes=15)

LabelKey = tuple[tuple[str, str], ...]


def label_key(labels: Mapping[str, str]) -> LabelKey:
    return tuple(sorted(labels.items()))


@dataclass(frozen=True)
class RuleAlert:
    """One alert of a rule, as the state machine sees it."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    value: float
    state: AlertState
    active_at: datetime
    last_seen_at: datetime
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    keep_firing_until: datetime | None = None

    @property
    def key(self) -> LabelKey:
        return label_key(self.labels)


@dataclass(frozen=True)
class Transition:
    """A state change; `to_state` None means the alert was forgotten (not a user-visible state)."""

    labels: Mapping[str, str]
    from_state: AlertState | None
    to_state: AlertState | None
    at: datetime


@dataclass
class Outcome:
    """The rule's alerts after one evaluation and the state changes it made."""

    alerts: dict[LabelKey, RuleAlert] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)


def expand(
    rule: AlertRule, series_labels: Mapping[str, str], value: float
) -> tuple[dict[str, str], dict[str, str]]:
    """The alert's labels and annotations for one result sample (templates rendered)."""
    data = TemplateData(labels=dict(series_labels), value=value)
    labels = {k: v for k, v in series_labels.items() if k != METRIC_NAME_LABEL}
    for name, template in rule.labels.items():
        labels[name] = _render(template, data)
    labels["alertname"] = rule.alert
    annotations = {name: _render(t, data) for name, t in rule.annotations.items()}
    return labels, annotations


def _render(template: str, data: TemplateData) -> str:
    try:
        return render(template, data)
    except TemplateError as exc:
        # Prometheus puts the error into the text rather than dropping the alert.
        return f"<error expanding template: {exc}>"


def step(
    rule: AlertRule,
    previous: Mapping[LabelKey, RuleAlert],
    results: Sequence[tuple[Mapping[str, str], float]],
    now: datetime,
) -> Outcome:
    """Advance the rule's alerts given this evaluation's result samples at `now`."""
    out = Outcome()
    seen: set[LabelKey] = set()
    for series_labels, value in results:
        labels, annotations = expand(rule, series_labels, value)
        key = label_key(labels)
        if key in seen:
            raise RuleError(
                f"{rule.alert}: the result has several series with the labels {labels} "
                "after the rule's labels are applied"
            )
        seen.add(key)
        _observed(previous.get(key), labels, annotations, value, now, out)
    for key, old in previous.items():
        if key not in seen:
            _vanished(rule, old, now, out)
    for key, alert in list(out.alerts.items()):
        if alert.state is AlertState.PENDING and now - alert.active_at >= _for(rule):
            out.alerts[key] = replace(alert, state=AlertState.FIRING, fired_at=now)
            out.transitions.append(
                Transition(alert.labels, AlertState.PENDING, AlertState.FIRING, now)
            )
    return out


def _observed(
    old: RuleAlert | None,
    labels: dict[str, str],
    annotations: dict[str, str],
    value: float,
    now: datetime,
    out: Outcome,
) -> None:
    """An alert whose series is in the result: updated if active, else a new pending one."""
    key = label_key(labels)
    if old is not None and old.state is not AlertState.RESOLVED:
        out.alerts[key] = replace(
            old, value=value, annotations=annotations, last_seen_at=now, keep_firing_until=None
        )
        return
    out.alerts[key] = RuleAlert(
        labels=labels,
        annotations=annotations,
        value=value,
        state=AlertState.PENDING,
        active_at=now,
        last_seen_at=now,
    )
    out.transitions.append(Transition(labels, None, AlertState.PENDING, now))


def _for(rule: AlertRule) -> timedelta:
    return timedelta(seconds=rule.for_s)


def _vanished(rule: AlertRule, old: RuleAlert, now: datetime, out: Outcome) -> None:
    """An alert whose series is gone from the result this time."""
    if old.state is AlertState.PENDING:
        out.transitions.append(Transition(old.labels, AlertState.PENDING, None, now))
        return
    if old.state is AlertState.RESOLVED:
        if old.resolved_at is not None and now - old.resolved_at >= RESOLVED_RETENTION:
            out.transitions.append(Transition(old.labels, AlertState.RESOLVED, None, now))
        else:
            out.alerts[old.key] = old
        return
    if rule.keep_firing_for_s > 0:
        until = old.keep_firing_until or now + timedelta(seconds=rule.keep_firing_for_s)
        if now < until:
            out.alerts[old.key] = replace(old, keep_firing_until=until)
            return
    out.alerts[old.key] = replace(
        old, state=AlertState.RESOLVED, resolved_at=now, keep_firing_until=None
    )
    out.transitions.append(Transition(old.labels, AlertState.FIRING, AlertState.RESOLVED, now))


def to_send(alerts: Mapping[LabelKey, RuleAlert], now: datetime) -> list[RuleAlert]:
    """What Prometheus sends to an Alertmanager: firing alerts and recent resolves."""
    return [
        a
        for a in alerts.values()
        if a.state is AlertState.FIRING
        or (
            a.state is AlertState.RESOLVED
            and a.resolved_at is not None
            and now - a.resolved_at < RESOLVED_RETENTION
        )
    ]


def sample_value(value: float) -> float | None:
    """The value as stored: NaN has no place in a nullable float column."""
    return None if math.isnan(value) else value
