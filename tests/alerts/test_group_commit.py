"""Group commit of the intake: a batch of webhooks stores what they would one after another."""

import json
from dataclasses import replace
from datetime import datetime

import pytest
from sqlmodel import Session, select

from alerts.group_commit import GroupCommit, store_deliveries
from alerts.ingest import Delivery, ingest_batch
from alerts.intake import parse_alertmanager
from alerts.models import Alert, AlertEvent
from core.clock import utcnow
from core.db import create_db_engine
from core.migrate import upgrade
from tests.alerts.payloads import alertmanager_message, resolved_copy


def parsed(message):
    return parse_alertmanager(json.dumps(message).encode())


def rows(engine):
    with Session(engine) as s:
        return list(s.exec(select(Alert).order_by(Alert.fingerprint)).all())


def test_a_batch_stores_what_its_webhooks_would_store_one_after_another(engine):
    firing = alertmanager_message(alerts=2)
    resolving_first = resolved_copy(firing)
    resolving_first["alerts"] = resolving_first["alerts"][:1]
    now = utcnow()
    batch = [
        Delivery(parsed(firing), now),
        Delivery(parsed(resolving_first), now),
        Delivery(parsed(firing), now),  # a late retry of the firing notification
    ]
    with engine.begin() as conn:
        results = ingest_batch(conn, batch)
    assert [r.as_dict() for r in results] == [
        {"received": 2, "created": 2, "resolved": 0, "unchanged": 0},
        {"received": 1, "created": 0, "resolved": 1, "unchanged": 0},
        {"received": 2, "created": 0, "resolved": 0, "unchanged": 2},
    ]
    closed_fp = parsed(resolving_first)[0].fingerprint
    stored = {r.fingerprint: r.state for r in rows(engine)}
    assert len(stored) == 2
    assert stored.pop(closed_fp) == "resolved"
    assert list(stored.values()) == ["firing"]
    with Session(engine) as s:
        closed_id = s.exec(select(Alert.id).where(Alert.fingerprint == closed_fp)).one()
        events = s.exec(
            select(AlertEvent).where(AlertEvent.alert_id == closed_id).order_by(AlertEvent.at)
        ).all()
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, "firing"),
        ("firing", "resolved"),
    ]


def test_a_delivery_that_fails_fails_alone_and_its_batch_mates_are_stored(engine):
    good = Delivery(parsed(alertmanager_message(alerts=2, prefix="good")), utcnow())
    other = Delivery(parsed(alertmanager_message(alerts=1, prefix="other")), utcnow())
    [alert] = parsed(alertmanager_message(alerts=1, prefix="bad"))
    # A naive start time is refused by the database layer: the whole first transaction fails.
    naive = replace(alert, starts_at=datetime(2026, 1, 5, 11, 58))
    bad = Delivery([naive], utcnow())
    store_deliveries(engine, [good, bad, other])
    assert good.result is not None and good.result.created == 2
    assert other.result is not None and other.result.created == 1
    assert bad.result is None and isinstance(bad.error, Exception)
    assert "naive datetime" in str(bad.error)
    assert len(rows(engine)) == 3


def test_a_failure_before_the_transaction_settles_the_batch_and_the_next_one_works(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'opsloop.db'}")
    upgrade(engine)
    blocker = tmp_path / "opsloop.db.intake-lock"
    blocker.mkdir()  # the SQLite file lock cannot be opened: a directory is in the way
    commit = GroupCommit(engine)
    first = Delivery(parsed(alertmanager_message(alerts=1)), utcnow())
    with pytest.raises(IsADirectoryError):
        commit.deliver(first)
    assert isinstance(first.error, IsADirectoryError) and first.result is None
    blocker.rmdir()
    second = Delivery(parsed(alertmanager_message(alerts=1)), utcnow())
    assert commit.deliver(second).created == 1
    assert len(rows(engine)) == 1
    engine.dispose()
