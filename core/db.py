"""Database engine and sessions: the one module that creates them (SQLite or PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Session, create_engine

from core.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 10_000
READ_ONLY_OPTION = "opsloop_read_only"


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """Engine for a database URL; SQLite gets WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def engine_from_settings(settings: Settings) -> Engine:
    return create_db_engine(settings.database_url)


def reading(engine: Engine) -> Engine:
    """The same engine for transactions that only read (no write lock taken on SQLite)."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def insert_ignore(
    bind: Session | Connection, table: Any, index_elements: Sequence[str] | None = None
) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING in the bind's dialect (SQLite or PostgreSQL): how
    writes stay idempotent without check-then-insert races. `index_elements` names the
    unique key to skip on (None: any); add .values(...) and .returning(...) as needed."""
    return dialect_insert(bind)(table).on_conflict_do_nothing(index_elements=index_elements)


def dialect_insert(bind: Session | Connection) -> Any:
    """The bind's dialect's `insert` (SQLite or PostgreSQL), the one with ON CONFLICT."""
    name = bind.dialect.name if isinstance(bind, Connection) else bind.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


def _sqlite_begin(conn: Connection) -> None:
    # pysqlite's legacy transaction handling breaks SAVEPOINT and emits BEGIN late;
    # SQLAlchemy's documented fix is to turn it off and emit BEGIN ourselves. Writers take
    # the write lock up front (IMMEDIATE): a deferred transaction that reads and then
    # writes fails at once with "database is locked" when another connection wrote in
    # between (WAL snapshot conflict), and the busy timeout does not help there.
    if conn.get_execution_options().get(READ_ONLY_OPTION):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let the "begin" listener issue BEGIN
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def canonical_json(data: Any) -> str:
    """The text a JSON-in-Text column stores: sorted keys, no spaces, UTF-8 kept, so equal
    data gives equal text (comparable, usable in unique keys, stable in diffs)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given where an aware UTC one is needed")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
