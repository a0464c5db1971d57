"""The SQLite driver path of the intake stores exactly what the Core path stores."""

import json
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from alerts.ingest import Delivery, ingest_batch
from alerts.ingest_sqlite import MAX_INSERT_ROWS, ROW_COLUMNS, bind_delivery, store_batch
from alerts.intake import parse_alertmanager
from alerts.silences import create_silence
from core.clock import utcnow
from core.db import create_db_engine, session_scope
from tests.alerts.payloads import alertmanager_message, resolved_copy


def parsed(message):
    return parse_alertmanager(json.dumps(message).encode())


def _silence_the_first_node(engine, now):
    with session_scope(engine) as session:
        create_silence(
            session,
            matchers=[{"name": "instance", "value": "node-0:9100", "isRegex": False}],
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(hours=1),
            created_by="test",
            comment="maintenance",
            now=now,
        )


def _batches(now):
    firing = alertmanager_message(alerts=3)
    resolving = resolved_copy(firing)
    resolving["alerts"] = resolving["alerts"][1:2]
    later = now + timedelta(seconds=30)
    return [
        [Delivery(parsed(firing), now), Delivery(parsed(resolving), now)],
        [Delivery(parsed(firing), later)],  # a late retry: refreshes, resolves nothing
        [
            Delivery(parsed(resolving), later),
            Delivery(parsed(alertmanager_message(alerts=1, prefix="x")), later),
        ],
    ]


def _dump(engine):
    with engine.connect() as conn:
        alerts = conn.execute(text("SELECT * FROM alert ORDER BY id")).all()
        events = conn.execute(text("SELECT * FROM alert_event ORDER BY id")).all()
    return [dict(r._mapping) for r in alerts], [dict(r._mapping) for r in events]


def test_the_driver_path_stores_the_same_rows_and_counts_as_core(sqlite_template, tmp_path):
    now = utcnow()
    engines = {}
    for name in ("core", "driver"):
        shutil.copyfile(sqlite_template, tmp_path / f"{name}.db")
        engines[name] = create_db_engine(f"sqlite:///{tmp_path / name}.db")
        _silence_the_first_node(engines[name], now)
    counts = {"core": [], "driver": []}
    for batch in _batches(now):
        with engines["core"].begin() as conn:
            counts["core"] += [r.as_dict() for r in ingest_batch(conn, batch)]
    for batch in _batches(now):
        for delivery in batch:
            bind_delivery(delivery, engines["driver"].dialect)
        counts["driver"] += [r.as_dict() for r in store_batch(engines["driver"], batch)]
    assert counts["driver"] == counts["core"]
    assert counts["core"][:2] == [
        {"received": 3, "created": 3, "resolved": 0, "unchanged": 0},
        {"received": 1, "created": 0, "resolved": 1, "unchanged": 0},
    ]
    core, driver = _dump(engines["core"]), _dump(engines["driver"])
    assert driver == core
    alerts, events = core
    assert [a["suppressed_by"] for a in alerts].count("silence:1") == 1
    assert len(events) == 5  # 4 received, 1 resolved
    for engine in engines.values():
        engine.dispose()


def test_more_rows_than_one_insert_takes_are_stored_in_pieces(sqlite_template, tmp_path):
    shutil.copyfile(sqlite_template, tmp_path / "opsloop.db")
    engine = create_db_engine(f"sqlite:///{tmp_path / 'opsloop.db'}")
    delivery = Delivery(parsed(alertmanager_message(alerts=MAX_INSERT_ROWS + 3)), utcnow())
    bind_delivery(delivery, engine.dialect)
    [result] = store_batch(engine, [delivery])
    assert result.created == MAX_INSERT_ROWS + 3
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM alert_event")).scalar() == MAX_INSERT_ROWS + 3
        )
    engine.dispose()


def test_a_failing_statement_rolls_the_whole_batch_back(sqlite_template, tmp_path):
    shutil.copyfile(sqlite_template, tmp_path / "opsloop.db")
    engine = create_db_engine(f"sqlite:///{tmp_path / 'opsloop.db'}")
    delivery = Delivery(parsed(alertmanager_message(alerts=2)), utcnow())
    bind_delivery(delivery, engine.dialect)
    with engine.begin() as conn:  # events can no longer be written: the insert's last step
        conn.execute(text("DROP TABLE alert_event"))
    with pytest.raises(OperationalError, match="alert_event"):
        store_batch(engine, [delivery])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alert")).scalar() == 0
    engine.dispose()


def test_the_bound_row_has_every_column_of_the_core_row():
    [alert] = parsed(alertmanager_message(alerts=1))
    assert tuple(Delivery([alert], utcnow()).rows[0]) == ROW_COLUMNS
