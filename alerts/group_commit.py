"""Group commit of the webhook intake: concurrent requests share one write transaction.

The intake's cost is mostly per transaction (BEGIN, the silence read, statement set-up,
the commit), not per alert, and SQLite lets one writer in at a time anyway. So a request
queues its alerts and waits for its process's turn; whoever gets the turn stores all the
deliveries queued so far in one transaction (flat combining), and each request gets the
result it would have had alone (alerts.ingest.ingest_batch). If a batch fails, each of
its deliveries is retried alone, so that one bad delivery fails only its own request.

On SQLite, the turn also spans processes (gunicorn workers): an flock on a file next to
the database. Waiting for it (or for the in-process lock) wakes the next writer as soon as
the previous one commits, where SQLite's busy handler polls with sleeps of up to 100 ms.
Other writers (the scheduler's jobs) still meet the intake at SQLite's own lock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Engine

from alerts.ingest import Delivery, IngestResult, ingest_batch
from alerts.ingest_sqlite import bind_delivery, store_batch
from alerts.intake import IncomingAlert

try:
    import fcntl
except ImportError:  # not on Windows; there the processes meet at SQLite's lock only
    fcntl = None  # type: ignore[assignment]

MAX_BATCH_DELIVERIES = 64


def receive_alerts(
    engine: Engine, incoming: Sequence[IncomingAlert], now: datetime
) -> IngestResult:
    """The intake use case: the alerts are stored and committed when this returns.

    SQLAlchemy Core on a pooled connection, not an ORM session: the intake is the busiest
    write path and needs no identity map or unit of work. On SQLite, the driver's cursor
    (alerts.ingest_sqlite), with the rows bound here, before the request queues.
    """
    delivery = Delivery(incoming, now)
    if not delivery.alerts:
        return IngestResult(len(incoming), 0, 0, 0)
    if engine.dialect.name == "sqlite":
        bind_delivery(delivery, engine.dialect)
    return _group_commit(engine).deliver(delivery)


class GroupCommit:
    """One engine's intake transactions in this process: one at a time, each a batch."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._turn = threading.Lock()
        self._guard = threading.Lock()
        self._waiting: list[Delivery] = []
        self._lock_path = _lock_path(engine)
        self._lock_fd: tuple[int, int] | None = None  # (pid, fd): a forked child reopens

    def deliver(self, delivery: Delivery) -> IngestResult:
        with self._guard:
            self._waiting.append(delivery)
        with self._turn:
            while delivery.result is None and delivery.error is None:
                with self._guard:
                    batch = self._waiting[:MAX_BATCH_DELIVERIES]
                    del self._waiting[:MAX_BATCH_DELIVERIES]
                try:
                    with self._across_processes():
                        store_deliveries(self.engine, batch)
                except BaseException as exc:  # no batch-mate may wait for a result forever
                    _fail_unsettled(batch, exc)
                    raise
        if delivery.error is not None:
            raise delivery.error
        assert delivery.result is not None
        return delivery.result

    @contextmanager
    def _across_processes(self) -> Iterator[None]:
        """Hold the SQLite database's intake file lock (called with the turn held)."""
        if self._lock_path is None or fcntl is None:
            yield
            return
        if self._lock_fd is None or self._lock_fd[0] != os.getpid():
            self._lock_fd = (os.getpid(), os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600))
        fd = self._lock_fd[1]
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def store_deliveries(engine: Engine, batch: list[Delivery]) -> None:
    """Store a batch in one transaction; if it fails, each delivery alone (errors noted)."""
    if engine.dialect.name == "sqlite":
        batch = _bound(batch, engine)
        if not batch:
            return
    try:
        if engine.dialect.name == "sqlite":
            results = store_batch(engine, batch)
        else:
            with engine.begin() as conn:
                results = ingest_batch(conn, batch)
    except Exception as exc:
        if len(batch) == 1:
            batch[0].error = exc
            return
        for delivery in batch:
            store_deliveries(engine, [delivery])
        return
    for delivery, result in zip(batch, results, strict=True):
        delivery.result = result


def _bound(batch: list[Delivery], engine: Engine) -> list[Delivery]:
    """The batch's deliveries bound for the driver (receive_alerts binds them already);
    one whose values cannot be bound gets its error and stays out."""
    ready = []
    for delivery in batch:
        if delivery.bound is None:
            try:
                bind_delivery(delivery, engine.dialect)
            except Exception as exc:
                delivery.error = exc
                continue
        ready.append(delivery)
    return ready


def _fail_unsettled(batch: list[Delivery], exc: BaseException) -> None:
    failure = exc if isinstance(exc, Exception) else RuntimeError("storing was interrupted")
    for delivery in batch:
        if delivery.result is None and delivery.error is None:
            delivery.error = failure


def _lock_path(engine: Engine) -> str | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return f"{database}.intake-lock"


_GROUP_COMMITS: WeakKeyDictionary[Engine, GroupCommit] = WeakKeyDictionary()
_GROUP_COMMITS_GUARD = threading.Lock()


def _group_commit(engine: Engine) -> GroupCommit:
    with _GROUP_COMMITS_GUARD:
        found = _GROUP_COMMITS.get(engine)
        if found is None:
            found = _GROUP_COMMITS[engine] = GroupCommit(engine)
        return found
