"""The intake's SQLite write path: statements rendered once, parameters bound beforehand.

On SQLite the intake's transactions run one at a time across every web process
(alerts.group_commit), so time spent inside one is time no other request can write.
SQLAlchemy's execution machinery there (statement set-up, result objects, a bind processor
per value, the pool's and the engine's hooks around BEGIN and COMMIT) cost several times
what SQLite itself spends. So the request's own thread binds its rows with the columns'
own bind processors (bind_delivery), and the transaction runs alerts.ingest's statements,
compiled once for the dialect, on the driver's cursor. The rules of identity and
idempotency stay in alerts.ingest (ingest_with); PostgreSQL keeps the Core path.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError

from alerts.ingest import (
    ACTIVE_SILENCES_QUERY,
    ALERT,
    CLOSE_ALERT,
    INSERT_EVENTS,
    INSERT_NEW,
    REFRESH_ALERT,
    Delivery,
    IngestResult,
    ingest_with,
)
from alerts.models import AlertState
from alerts.silences import ActiveMatchers

# SQLite allows 32,766 parameters per statement (since 3.32): 500 rows of 16 stay below.
MAX_INSERT_ROWS = 500
_RESOLVED = AlertState.RESOLVED.value
# The keys of alerts.ingest._row, the columns of the insert.
ROW_COLUMNS = (
    "fingerprint",
    "source",
    "state",
    "alertname",
    "service",
    "labels",
    "annotations",
    "value",
    "starts_at",
    "ends_at",
    "active_at",
    "fired_at",
    "resolved_at",
    "last_seen_at",
    "generator_url",
    "receiver",
)


@dataclass(frozen=True)
class Rendered:
    """A statement compiled for the driver: its SQL, its parameters' order, its constants."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Any, ...]  # the bind processor of each parameter (None: as is)
    constants: Mapping[str, Any]  # the statement's own literal values, bound

    def params(self, given: Mapping[str, Any]) -> tuple[Any, ...]:
        """Positional parameters from DBAPI-ready values, the constants filled in."""
        return tuple(given[n] if n in given else self.constants[n] for n in self.names)

    def bind(
        self, given: Mapping[str, Any], memo: dict[tuple[int, type, Any], Any] | None = None
    ) -> tuple[Any, ...]:
        """Positional parameters from Python values, through the bind processors; `memo`
        keeps processed values for the next rows (a webhook's rows share most times)."""
        memo = {} if memo is None else memo
        values = []
        for i, (name, process) in enumerate(zip(self.names, self.processors, strict=True)):
            if name not in given:
                values.append(self.constants[name])
            elif process is None:
                values.append(given[name])
            else:
                key = (i, type(given[name]), given[name])  # equal, and of one type
                if key not in memo:
                    memo[key] = process(given[name])
                values.append(memo[key])
        return tuple(values)


def render(stmt: Any, dialect: Dialect) -> Rendered:
    compiled = stmt.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    binds = {name: compiled.binds[name] for name in names}
    processors = {n: b.type._cached_bind_processor(dialect) for n, b in binds.items()}
    constants = {}
    for name, bind in binds.items():
        if not bind.required:  # a literal of the statement, not a parameter we pass
            process = processors[name]
            constants[name] = bind.value if process is None else process(bind.value)
    return Rendered(compiled.string, names, tuple(processors[n] for n in names), constants)


class Statements:
    """alerts.ingest's statements rendered for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        # alerts.ingest._row's columns as named parameters: their order is a bound row's.
        self.insert_one = render(
            INSERT_NEW["sqlite"].values({c: bindparam(c) for c in ROW_COLUMNS}), dialect
        )
        self.at = {name: i for i, name in enumerate(self.insert_one.names)}
        head, values, tail = _split_values(self.insert_one.sql, len(self.insert_one.names))
        self._insert_parts = (head, values, tail)
        self.silences = render(ACTIVE_SILENCES_QUERY, dialect)
        self.mark_suppressed = render(
            update(ALERT)
            .where(ALERT.c.id == bindparam("b_id"))
            .values(suppressed_by=bindparam("b_reason")),
            dialect,
        )
        self.refresh = render(REFRESH_ALERT, dialect)
        self.close = render(CLOSE_ALERT, dialect)
        self.insert_event = render(
            INSERT_EVENTS.values(
                {c: bindparam(c) for c in ("alert_id", "at", "from_state", "to_state", "note")}
            ),
            dialect,
        )

    def insert_new(self, rows: int) -> str:
        head, values, tail = self._insert_parts
        return head + ", ".join([values] * rows) + tail


def _split_values(sql: str, count: int) -> tuple[str, str, str]:
    values = "(" + ", ".join(["?"] * count) + ")"
    head, found, tail = sql.partition(" VALUES " + values)
    if not found:
        raise RuntimeError(f"unexpected INSERT rendering: {sql}")
    return head + " VALUES ", values, tail


@lru_cache(maxsize=8)
def statements(dialect: Dialect) -> Statements:
    return Statements(dialect)


def bind_delivery(delivery: Delivery, dialect: Dialect) -> None:
    """Give the delivery its DBAPI-ready rows (in the request's thread, before it queues)."""
    insert = statements(dialect).insert_one
    memo: dict[tuple[int, type, Any], Any] = {}
    delivery.bound = [insert.bind(row, memo) for row in delivery.rows]


def store_batch(engine: Engine, deliveries: Sequence[Delivery]) -> list[IngestResult]:
    """ingest_batch for SQLite, in a transaction of its own on a driver connection."""
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        with _transaction(engine) as cursor:
            return ingest_with(DriverWriter(cursor, statements(engine.dialect)), deliveries)
    except dbapi_error as exc:  # as SQLAlchemy raises it on the Core path
        raise DBAPIError.instance(None, None, exc, dbapi_error) from exc


@contextmanager
def _transaction(engine: Engine) -> Iterator[Any]:
    # core.db turns the driver's own transaction handling off (isolation_level None), and
    # writers take the write lock up front: on a driver connection we say so ourselves.
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            connection.rollback()  # the driver's: a no-op if SQLite rolled back already
            raise
        connection.commit()
    finally:
        connection.close()  # back to the pool


class DriverWriter:
    """alerts.ingest's statements on a DBAPI cursor; rows are bind_delivery's tuples."""

    def __init__(self, cursor: Any, rendered: Statements) -> None:
        self.cursor = cursor
        self.s = rendered
        at = rendered.at
        self._fp, self._starts, self._state = at["fingerprint"], at["starts_at"], at["state"]
        self._resolved_at = at["resolved_at"]
        self._identity = {
            "b_source": at["source"],
            "b_fingerprint": self._fp,
            "b_starts_at": self._starts,
            "b_now": at["last_seen_at"],
            "b_annotations": at["annotations"],
        }
        self._value = at["value"]

    def rows(self, delivery: Delivery) -> Sequence[tuple[Any, ...]]:
        if delivery.bound is None:
            raise RuntimeError("the delivery was not bound: call bind_delivery() first")
        return delivery.bound

    def key(self, row: tuple[Any, ...]) -> Hashable:
        return row[self._fp], row[self._starts]

    def insert_new(self, rows: list[tuple[Any, ...]]) -> dict[Hashable, int]:
        created: dict[Hashable, int] = {}
        for start in range(0, len(rows), MAX_INSERT_ROWS):
            chunk = rows[start : start + MAX_INSERT_ROWS]
            self.cursor.execute(self.s.insert_new(len(chunk)), [v for row in chunk for v in row])
            for alert_id, fp, starts in self.cursor.fetchall():
                created[fp, starts] = alert_id
        return created

    def active_silences(self, now: datetime) -> ActiveMatchers:
        self.cursor.execute(self.s.silences.sql, self.s.silences.bind({"now": now}))
        return [(int(row[0]), json.loads(row[1])) for row in self.cursor.fetchall()]

    def mark_suppressed(self, reason: str, ids: list[int]) -> None:
        marks = self.s.mark_suppressed
        self.cursor.executemany(
            marks.sql, [marks.bind({"b_id": i, "b_reason": reason}) for i in ids]
        )

    def _identity_of(self, row: tuple[Any, ...]) -> dict[str, Any]:
        return {name: row[i] for name, i in self._identity.items()}

    def refresh(self, refreshed: list[tuple[tuple[Any, ...], str | None]]) -> None:
        stmt = self.s.refresh
        params = [
            stmt.params(
                {**self._identity_of(row), "b_value": row[self._value], "b_suppressed_by": reason}
            )
            for row, reason in refreshed
        ]
        self.cursor.executemany(stmt.sql, params)

    def close(self, row: tuple[Any, ...]) -> int | None:
        stmt = self.s.close
        closed_at = row[self._resolved_at]
        self.cursor.execute(
            stmt.sql, stmt.params({**self._identity_of(row), "b_closed_at": closed_at})
        )
        found = self.cursor.fetchall()
        return int(found[0][0]) if found else None

    def event(
        self,
        alert_id: int,
        row: tuple[Any, ...],
        from_state: AlertState | None,
        note: str | None,
    ) -> tuple[Any, ...]:
        # as alerts.ingest.event_at: at its close when resolved, else at its start
        resolved = row[self._state] == _RESOLVED
        return self.s.insert_event.params(
            {
                "alert_id": alert_id,
                "at": row[self._resolved_at] if resolved else row[self._starts],
                "from_state": from_state.value if from_state else None,
                "to_state": row[self._state],
                "note": note,
            }
        )

    def insert_events(self, events: list[tuple[Any, ...]]) -> None:
        self.cursor.executemany(self.s.insert_event.sql, events)
