"""The alert store: own alerts through their states, history events, listing, ack."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts.errors import AlertNotFound
from alerts.fingerprint import fingerprint
from alerts.models import AlertSource, AlertState
from alerts.store import (
    acknowledge,
    alert_events,
    count_by_state,
    get_alert,
    list_alerts,
    upsert_own_alert,
)

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
LABELS = {"alertname": "HighErrorRate", "service": "checkout", "severity": "page"}


def _upsert(session, state, now, value=1.0):
    return upsert_own_alert(
        session,
        fingerprint=fingerprint(LABELS),
        labels=LABELS,
        annotations={"summary": "errors"},
        state=state,
        value=value,
        now=now,
        active_at=T0,
    )


def test_an_own_alert_goes_pending_firing_resolved_with_every_event_stored(session):
    first = _upsert(session, AlertState.PENDING, T0)
    again = _upsert(session, AlertState.PENDING, T0 + timedelta(seconds=30), value=2.0)
    firing = _upsert(session, AlertState.FIRING, T0 + timedelta(minutes=5), value=3.0)
    resolved = _upsert(session, AlertState.RESOLVED, T0 + timedelta(minutes=9), value=0.0)
    session.commit()
    assert first.id == again.id == firing.id == resolved.id
    alert = get_alert(session, first.id)
    assert alert.state == "resolved"
    assert alert.service == "checkout"
    assert alert.fired_at == T0 + timedelta(minutes=5)
    assert alert.resolved_at == alert.ends_at == T0 + timedelta(minutes=9)
    steps = [(e.from_state, e.to_state) for e in alert_events(session, alert.id)]
    assert steps == [(None, "pending"), ("pending", "firing"), ("firing", "resolved")]


def test_a_new_occurrence_after_resolve_is_a_new_row(session):
    _upsert(session, AlertState.FIRING, T0)
    _upsert(session, AlertState.RESOLVED, T0 + timedelta(minutes=1))
    later = upsert_own_alert(
        session,
        fingerprint=fingerprint(LABELS),
        labels=LABELS,
        annotations={},
        state=AlertState.PENDING,
        value=1.0,
        now=T0 + timedelta(hours=1),
        active_at=T0 + timedelta(hours=1),
    )
    session.commit()
    rows = list_alerts(session, source=AlertSource.OWN)
    assert [a.id for a in rows] == [later.id, rows[1].id]
    assert count_by_state(session)["pending"] == 1


def test_resolving_nothing_stores_nothing(session):
    assert _upsert(session, AlertState.RESOLVED, T0) is None
    assert list_alerts(session) == []


def test_acknowledging_keeps_the_first_who_and_when(session):
    alert = _upsert(session, AlertState.FIRING, T0)
    acknowledge(session, alert.id, "bob", T0 + timedelta(minutes=1))
    acknowledge(session, alert.id, "carol", T0 + timedelta(minutes=2))
    session.commit()
    stored = get_alert(session, alert.id)
    assert (stored.acked_by, stored.acked_at) == ("bob", T0 + timedelta(minutes=1))
    assert alert_events(session, alert.id)[-1].note == "acknowledged by bob"


def test_an_unknown_alert_says_so(session):
    with pytest.raises(AlertNotFound, match="no alert with id 999"):
        get_alert(session, 999)


def test_lists_filter_by_state_service_and_source(session):
    _upsert(session, AlertState.FIRING, T0)
    session.commit()
    assert len(list_alerts(session, state=AlertState.FIRING, service="checkout")) == 1
    assert list_alerts(session, state=AlertState.PENDING) == []
    assert list_alerts(session, service="other") == []
    assert list_alerts(session, source=AlertSource.ALERTMANAGER) == []
