"""Scrape scheduling: a bounded thread pool, each target started at a stable offset.

A target is due once per interval, at `k * interval + offset` where the offset comes from a
stable hash of (job, url) — the same spreading Prometheus does — so a few hundred targets
do not all fire in the same second. A process scrapes a slot only after claiming it in the
database (claim_slot), so several workers on one PostgreSQL share the targets and never
scrape one twice. A target still running here is never started again, and a slow or
hanging one holds one worker at most until its own timeout.

Workers fetch and parse in parallel and hand their scrapes to one ScrapeWriter thread,
which writes the scrapes that finished while it wrote the last ones in one transaction.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from queue import SimpleQueue

import sqlalchemy as sa
from sqlalchemy import Connection, bindparam, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from collector.config import JobConfig, ScrapeConfig
from collector.models import Target
from collector.scrape import (
    Collected,
    ScrapeOutcome,
    SeriesMemo,
    TargetSpec,
    collect,
    store_scrapes,
)
from collector.storage import mark_stale, write_lock
from core.clock import from_ms, to_ms
from core.db import reading

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 8
SCHEDULE_MAX_AGE_MS = 5_000


def offset_ms(job: str, url: str, interval_ms: int) -> int:
    """Stable start offset of a target within its interval."""
    return zlib.crc32(f"{job}\x00{url}".encode()) % max(interval_ms, 1)


def slot_of(now_ms: int, interval_ms: int, offset: int) -> int:
    """Index of the interval slot `now` is in; a target is due when its slot advances."""
    return (now_ms - offset) // max(interval_ms, 1)


_TARGETS = Target.__table__  # type: ignore[attr-defined]
_NEXT = _TARGETS.c.next_scrape_at
_NOW_AT = bindparam("now_at", type_=_NEXT.type)
_NEXT_AT = bindparam("next_at", type_=_NEXT.type)
# Built once: a scrape tick reads the schedule every second and claims each due target.
_SCHEDULE = (
    sa.select(_TARGETS.c.id, _TARGETS.c.job, _TARGETS.c.url, _TARGETS.c.interval_s, _NEXT)
    .where(_TARGETS.c.enabled.is_(True))
    .order_by(_TARGETS.c.id)
)
_CLAIM = (
    update(_TARGETS)
    .where(
        _TARGETS.c.id == bindparam("target_id"),
        or_(_NEXT.is_(None), _NEXT <= _NOW_AT, _NEXT > _NEXT_AT),
    )
    .values(next_scrape_at=bindparam("claim_at"))
)
_ARM = (
    update(_TARGETS)
    .where(_TARGETS.c.id == bindparam("target_id"), _NEXT.is_(None))
    .values(next_scrape_at=bindparam("claim_at"))
)


def claim_slot(
    conn: Connection, target_id: int, now_ms: int, next_ms: int, *, arm_only: bool
) -> bool:
    """Take the target's current slot for this process: True means scrape it now.

    One atomic UPDATE moves next_scrape_at to the start of the next slot, only if the
    current slot is free: no claim yet, a claim that is due, or one further away than a
    slot (the interval was shortened). Two workers may race for it; the database lets
    exactly one UPDATE match (PostgreSQL re-checks the WHERE after a concurrent commit).
    A target never claimed is only armed for its next slot when arm_only is set, so new
    targets start at their offset instead of all at once.
    """
    next_at = from_ms(next_ms)
    if arm_only and conn.execute(_ARM, {"target_id": target_id, "claim_at": next_at}).rowcount:
        return False
    params = {"target_id": target_id, "now_at": from_ms(now_ms), "next_at": next_at}
    claimed = conn.execute(_CLAIM, {**params, "claim_at": next_at}).rowcount
    return bool(claimed == 1)


class ScrapeWriter:
    """One thread writes the collected scrapes: everything that queued while it wrote the
    last batch goes into the next transaction (store_scrapes), so commits, status rows
    and the INSERT of samples are shared. Workers hand their scrape over and are free for
    the next target; its future resolves once it is written.

    If a shared transaction fails, each scrape of it is written alone, so one bad target
    never costs another its samples.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: SimpleQueue[tuple[Collected, Future[ScrapeOutcome]] | None] = SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, item: Collected, future: Future[ScrapeOutcome]) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="scrape-writer", daemon=True)
                self._thread.start()
        self._queue.put((item, future))

    def close(self) -> None:
        """Stop the thread once it has written what is queued."""
        with self._lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread = None

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            batch = [first]
            while not self._queue.empty():
                queued = self._queue.get()
                if queued is None:
                    self._write(batch)
                    return
                batch.append(queued)
            self._write(batch)

    def _write(self, batch: list[tuple[Collected, Future[ScrapeOutcome]]]) -> None:
        try:
            store_scrapes(self.engine, [item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            for item, future in batch:
                try:
                    store_scrapes(self.engine, [item])
                except Exception as alone:
                    future.set_exception(alone)
                else:
                    future.set_result(item.outcome)
            return
        for item, future in batch:
            future.set_result(item.outcome)


@dataclass
class ScrapePool:
    engine: Engine
    config: ScrapeConfig
    clock: Callable[[], datetime]
    max_workers: int = DEFAULT_WORKERS
    memos: dict[int, SeriesMemo] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)
    running: dict[int, Future[ScrapeOutcome]] = field(default_factory=dict)
    # The schedule is read when a slot of a known target starts, or after
    # SCHEDULE_MAX_AGE_MS (to see new, changed and removed targets), not every tick.
    _read_ms: int = 0
    _next_read_ms: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _executor: ThreadPoolExecutor | None = None
    writer: ScrapeWriter = field(init=False)

    def __post_init__(self) -> None:
        self.writer = ScrapeWriter(self.engine)

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.max_workers, thread_name_prefix="scrape")
        return self._executor

    def due_targets(self, now: datetime, *, first_now: bool = False) -> list[TargetSpec]:
        """Enabled targets whose slot came, that this process claimed and is not running.

        A target never claimed before waits for its offset, unless first_now is set. A
        tick before the next slot start of any target reads nothing (first_now always
        reads); new, changed and removed targets are seen within SCHEDULE_MAX_AGE_MS.
        """
        now_ms = to_ms(now)
        if not first_now and self._read_ms <= now_ms < self._next_read_ms:
            return []  # no slot starts before then (and the schedule read is recent)
        with reading(self.engine).connect() as conn:  # plain rows, no ORM
            rows = conn.execute(_SCHEDULE).all()
        self._forget_gone({row.id for row in rows}, now)
        self._read_ms, self._next_read_ms = now_ms, now_ms + SCHEDULE_MAX_AGE_MS
        wanted: list[tuple[int, int]] = []
        for row in rows:
            self.seen.add(row.id)
            interval_ms = int(row.interval_s * 1000)
            offset = offset_ms(row.job, row.url, interval_ms)
            next_ms = (slot_of(now_ms, interval_ms, offset) + 1) * max(interval_ms, 1) + offset
            self._next_read_ms = min(self._next_read_ms, next_ms)
            if row.id in self.running:
                continue  # its next slot stays unclaimed: whoever is free takes it
            claimed_ms = to_ms(row.next_scrape_at) if row.next_scrape_at is not None else None
            if claimed_ms is not None and now_ms < claimed_ms <= next_ms:
                continue  # this slot is taken (as read: the claim below decides)
            wanted.append((row.id, next_ms))
        if not wanted:
            return []
        with write_lock(self.engine), self.engine.begin() as conn:
            claimed = [
                target_id
                for target_id, next_ms in wanted
                if claim_slot(conn, target_id, now_ms, next_ms, arm_only=not first_now)
            ]
        if not claimed:
            return []
        with Session(reading(self.engine)) as session:
            found = session.exec(select(Target).where(col(Target.id).in_(claimed)))
            return [TargetSpec.of(t) for t in sorted(found, key=lambda t: t.id or 0)]

    def _forget_gone(self, present: set[int], now: datetime) -> None:
        for gone in [tid for tid in self.seen if tid not in present]:
            self.seen.discard(gone)  # removed or paused: its series go stale
            memo = self.memos.pop(gone, None)
            if memo is not None and memo.live and gone not in self.running:
                with write_lock(self.engine), self.engine.begin() as conn:
                    mark_stale(conn, memo.live, now)

    def submit(self, target: TargetSpec) -> Future[ScrapeOutcome]:
        """Scrape a target in the pool; the future resolves when its scrape is written."""
        memo = self.memos.setdefault(target.id, SeriesMemo())
        job = self.config.job(target.job)
        future: Future[ScrapeOutcome] = Future()
        future.set_running_or_notify_cancel()  # resolved by the writer; not cancellable
        with self._lock:
            self.running[target.id] = future
        future.add_done_callback(partial(self._finished, target.id))
        self.executor.submit(self._collect, target, job, memo, future)
        return future

    def _collect(
        self, target: TargetSpec, job: JobConfig, memo: SeriesMemo, future: Future[ScrapeOutcome]
    ) -> None:
        try:
            item = collect(target, job, memo, self.clock)
        except BaseException as exc:  # collect records the target's own failures itself
            future.set_exception(exc)
            return
        self.writer.put(item, future)

    def _finished(self, target_id: int, future: Future[ScrapeOutcome]) -> None:
        with self._lock:
            if self.running.get(target_id) is future:
                del self.running[target_id]
        exc = future.exception()
        if exc is not None:
            log.error("scrape of target %s failed", target_id, exc_info=exc)

    def tick(self, now: datetime, *, first_now: bool = False) -> list[Future[ScrapeOutcome]]:
        """Start every due target; returns their futures (the scheduler does not wait)."""
        return [self.submit(t) for t in self.due_targets(now, first_now=first_now)]

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self.writer.close()
