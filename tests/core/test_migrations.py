from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from core.db import create_db_engine, reading
from core.migrate import alembic_config, pending_heads, upgrade
from opsloop.models import all_metadata


def test_the_migrations_build_exactly_the_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, all_metadata())
    assert diff == [], f"models and migrations disagree: {diff}"


def test_a_migrated_database_is_current(engine):
    assert pending_heads(engine) == set()


def test_an_empty_database_reports_its_pending_heads(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    assert "0001_foundation" not in heads or len(heads) == 1
    assert pending_heads(engine) == heads
    upgrade(engine)
    assert pending_heads(engine) == set()
    upgrade(engine)  # idempotent
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000
    engine.dispose()


def test_sqlite_writers_wait_for_each_other_instead_of_failing(tmp_path):
    import threading

    engine = create_db_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    errors: list[Exception] = []

    def other_writer() -> None:
        try:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (2)"))
        except Exception as exc:  # reported below
            errors.append(exc)

    with engine.connect() as first:
        first.execute(text("SELECT count(*) FROM t"))  # read first ...
        writer = threading.Thread(target=other_writer)
        writer.start()
        writer.join(0.3)  # ... let the other writer try meanwhile ...
        first.execute(text("INSERT INTO t VALUES (1)"))  # ... then write
        first.commit()
    writer.join()
    assert errors == []
    with reading(engine).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2
    engine.dispose()
