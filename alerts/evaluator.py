"""Rule evaluation as a service: run each rule's query at `now`, step its alerts, store them.

The rule's alerts are read back from the alert table on every evaluation (open ones, and
resolved ones for their 15 minutes), so `for` timers and keep_firing_for survive a restart:
`active_at` is stored. Every state change is written through alerts.store, which keeps the
history; a pending alert that disappears is deleted, as Prometheus forgets it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, or_, select

from alerts.errors import RuleError
from alerts.evaluation import (
    RESOLVED_RETENTION,
    LabelKey,
    RuleAlert,
    label_key,
    sample_value,
    step,
)
from alerts.fingerprint import fingerprint
from alerts.models import Alert, AlertSource, AlertState
from alerts.rules import AlertRule, RuleGroup
from alerts.store import record_transition, upsert_own_alert
from collector.promql import QueryError, evaluate_instant
from collector.series import SeriesSource
from collector.storage import DatabaseSource
from core.clock import as_utc, to_ms
from core.db import reading, session_scope

log = logging.getLogger(__name__)


@dataclass
class GroupReport:
    group: str
    rules: int = 0
    alerts: int = 0
    transitions: int = 0
    errors: list[str] = field(default_factory=list)


def evaluate_group(
    session: Session, group: RuleGroup, source: SeriesSource, now: datetime
) -> GroupReport:
    """Evaluate every rule of a group at `now`; a failing rule is reported, the rest go on."""
    report = GroupReport(group.name)
    for rule in group.rules:
        try:
            alerts, transitions = evaluate_rule(session, group.name, rule, source, now)
        except (QueryError, RuleError) as exc:
            session.rollback()
            message = f"{rule.alert} ({rule.origin}): {exc}"
            log.warning("rule evaluation failed: %s", message)
            report.errors.append(message)
            continue
        session.commit()  # one rule at a time: the write lock is not held across queries
        report.rules += 1
        report.alerts += alerts
        report.transitions += transitions
    return report


def _owned_by(rule: AlertRule, labels: dict[str, str]) -> bool:
    """Whether a stored alert of this group and alert name came from this rule: its
    constant labels must match (two rules may share an alert name, like the burn windows)."""
    return all(labels.get(k) == v for k, v in rule.labels.items() if "{{" not in v)


def _stored(session: Session, group: str, rule: AlertRule, now: datetime) -> dict[LabelKey, Alert]:
    rows = session.exec(
        select(Alert)
        .where(
            Alert.source == AlertSource.OWN.value,
            Alert.rule_group == group,
            Alert.alertname == rule.alert,
            or_(
                Alert.state != AlertState.RESOLVED.value,
                col(Alert.resolved_at) >= now - RESOLVED_RETENTION,
            ),
        )
        .order_by(col(Alert.starts_at))
    ).all()
    found: dict[LabelKey, Alert] = {}
    for row in rows:
        labels = row.label_map
        if not _owned_by(rule, labels):
            continue
        key = label_key(labels)
        # An open alert wins over a resolved one with the same labels (it came back).
        if key not in found or found[key].state == AlertState.RESOLVED.value:
            found[key] = row
    return found


def _as_rule_alert(row: Alert) -> RuleAlert:
    return RuleAlert(
        labels=row.label_map,
        annotations=row.annotation_map,
        value=row.value if row.value is not None else float("nan"),
        state=AlertState(row.state),
        active_at=as_utc(row.active_at or row.starts_at),
        last_seen_at=as_utc(row.last_seen_at),
        fired_at=as_utc(row.fired_at) if row.fired_at else None,
        resolved_at=as_utc(row.resolved_at) if row.resolved_at else None,
        keep_firing_until=as_utc(row.keep_firing_until) if row.keep_firing_until else None,
    )


def evaluate_rule(
    session: Session, group: str, rule: AlertRule, source: SeriesSource, now: datetime
) -> tuple[int, int]:
    """One rule at `now`; returns (alerts it has, state changes made)."""
    samples = evaluate_instant(rule.expr, source, to_ms(now))
    stored = _stored(session, group, rule, now)
    previous = {key: _as_rule_alert(row) for key, row in stored.items()}
    outcome = step(rule, previous, [(s.labels, s.value) for s in samples], now)
    new_keys = {label_key(t.labels) for t in outcome.transitions if t.from_state is None}
    for key, alert in outcome.alerts.items():
        row = stored.get(key)
        if key not in new_keys and row is not None and row.state == alert.state.value == "resolved":
            continue  # kept for its 15 minutes; nothing to store
        if key in new_keys:
            _store(session, group, alert, AlertState.PENDING, now, None)
        held = row.suppressed_by if row is not None and key not in new_keys else None
        _store(session, group, alert, alert.state, now, held)
    for transition in outcome.transitions:
        if transition.from_state is AlertState.PENDING and transition.to_state is None:
            dropped = stored.get(label_key(transition.labels))
            if dropped is not None:
                session.delete(dropped)
    session.flush()
    return len(outcome.alerts), len(outcome.transitions)


def _store(
    session: Session,
    group: str,
    alert: RuleAlert,
    state: AlertState,
    now: datetime,
    suppressed_by: str | None,
) -> None:
    upsert_own_alert(
        session,
        fingerprint=fingerprint(alert.labels),
        labels=alert.labels,
        annotations=alert.annotations,
        state=state,
        value=sample_value(alert.value),
        now=now,
        active_at=alert.active_at,
        fired_at=alert.fired_at if state is AlertState.FIRING else None,
        keep_firing_until=alert.keep_firing_until,
        rule_group=group,
        suppressed_by=suppressed_by,
    )


def evaluate_groups(
    session: Session, groups: Sequence[RuleGroup], source: SeriesSource, now: datetime
) -> list[GroupReport]:
    return [evaluate_group(session, group, source, now) for group in groups]


def run_rule_group(engine: Engine, group: RuleGroup, now: datetime) -> GroupReport:
    """The scheduled job's work: evaluate one group on the stored samples and commit."""
    with session_scope(engine) as session:
        return evaluate_group(
            session, group, DatabaseSource(reading(engine), use_rollups=group.use_rollups), now
        )


def resolve_orphans(session: Session, groups: Sequence[RuleGroup], now: datetime) -> int:
    """Close open own alerts that no configured rule produces any more (rule removed or its
    labels changed): a firing one is resolved, so its resolve is notified; a pending one is
    dropped. Returns how many were closed."""
    rules: dict[tuple[str, str], list[AlertRule]] = {}
    for group in groups:
        for rule in group.rules:
            rules.setdefault((group.name, rule.alert), []).append(rule)
    open_rows = session.exec(
        select(Alert).where(
            Alert.source == AlertSource.OWN.value, Alert.state != AlertState.RESOLVED.value
        )
    ).all()
    closed = 0
    for row in open_rows:
        candidates = rules.get((row.rule_group or "", row.alertname), [])
        if any(_owned_by(rule, row.label_map) for rule in candidates):
            continue
        closed += 1
        if row.state == AlertState.PENDING.value:
            session.delete(row)
        else:
            record_transition(session, row, AlertState.RESOLVED, now, note="its rule is gone")
    session.commit()
    return closed


def run_orphan_check(engine: Engine, groups: Sequence[RuleGroup], now: datetime) -> int:
    with Session(engine, expire_on_commit=False) as session:
        return resolve_orphans(session, groups, now)
