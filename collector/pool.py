"""Scrape scheduling: a bounded thread pool, each target started at a stable offset.

A target is due once per interval, at `k * interval + offset` where the offset comes from a
stable hash of (job, url) — the same spreading Prometheus does — so a few hundred targets
do not all fire in the same second. A target still running is never started again, and a
slow or hanging one holds one worker at most until its own timeout.

Workers fetch and parse in parallel; their writes go through a GroupWriter, so the scrapes
that finish while one transaction runs are written together in the next.
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
from core.clock import to_ms
from core.db import reading

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 8


def offset_ms(job: str, url: str, interval_ms: int) -> int:
    """Stable start offset of a target within its interval."""
    return zlib.crc32(f"{job}\x00{url}".encode()) % max(interval_ms, 1)


def slot_of(now_ms: int, interval_ms: int, offset: int) -> int:
    """Index of the interval slot `now` is in; a target is due when its slot advances."""
    return (now_ms - offset) // max(interval_ms, 1)


class GroupWriter:
    """Group commit: a scrape that is ready to be written queues, and whoever holds the
    writer's lock writes everything queued in one transaction (store_scrapes).

    A scrape whose turn comes finds its work done by the previous writer or does it,
    with those queued behind it. If a shared transaction fails, each scrape of it is
    written alone, so one bad target never costs another its samples.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: list[Collected] = []
        self._queue_lock = threading.Lock()
        self._writer_lock = threading.Lock()

    def write(self, item: Collected) -> ScrapeOutcome:
        with self._queue_lock:
            self._queue.append(item)
        with self._writer_lock:
            with self._queue_lock:
                batch, self._queue = self._queue, []
            if batch:
                self._write(batch)
        if item.failure is not None:
            raise item.failure
        return item.outcome

    def _write(self, batch: list[Collected]) -> None:
        try:
            store_scrapes(self.engine, batch)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].failure = exc
                return
            for item in batch:
                try:
                    store_scrapes(self.engine, [item])
                except Exception as alone:
                    item.failure = alone


@dataclass
class ScrapePool:
    engine: Engine
    config: ScrapeConfig
    clock: Callable[[], datetime]
    max_workers: int = DEFAULT_WORKERS
    memos: dict[int, SeriesMemo] = field(default_factory=dict)
    last_slot: dict[int, tuple[int, int]] = field(default_factory=dict)
    running: dict[int, Future[ScrapeOutcome]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _executor: ThreadPoolExecutor | None = None
    writer: GroupWriter = field(init=False)

    def __post_init__(self) -> None:
        self.writer = GroupWriter(self.engine)

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.max_workers, thread_name_prefix="scrape")
        return self._executor

    def due_targets(self, now: datetime, *, first_now: bool = False) -> list[TargetSpec]:
        """Enabled targets whose slot advanced since their last start and are not running.

        A target seen for the first time waits for its offset, unless first_now is set.
        """
        now_ms = to_ms(now)
        with Session(reading(self.engine)) as session:
            targets = list(session.exec(select(Target).where(col(Target.enabled).is_(True))))
        present = {t.id for t in targets}
        for gone in [tid for tid in self.last_slot if tid not in present]:
            self.last_slot.pop(gone, None)  # removed or paused: its series go stale
            memo = self.memos.pop(gone, None)
            if memo is not None and memo.live and gone not in self.running:
                with write_lock(self.engine), self.engine.begin() as conn:
                    mark_stale(conn, memo.live, now)
        due = []
        for t in targets:
            assert t.id is not None
            interval_ms = int(t.interval_s * 1000)
            slot = slot_of(now_ms, interval_ms, offset_ms(t.job, t.url, interval_ms))
            previous = self.last_slot.get(t.id)
            if previous is None or previous[0] != interval_ms:
                self.last_slot[t.id] = (interval_ms, slot if not first_now else slot - 1)
                if not first_now:
                    continue
            if self.last_slot[t.id][1] >= slot or t.id in self.running:
                continue
            self.last_slot[t.id] = (interval_ms, slot)
            due.append(TargetSpec.of(t))
        return due

    def submit(self, target: TargetSpec) -> Future[ScrapeOutcome]:
        memo = self.memos.setdefault(target.id, SeriesMemo())
        job = self.config.job(target.job)
        future = self.executor.submit(self._scrape, target, job, memo)
        with self._lock:
            self.running[target.id] = future
        future.add_done_callback(partial(self._finished, target.id))
        return future

    def _scrape(self, target: TargetSpec, job: JobConfig, memo: SeriesMemo) -> ScrapeOutcome:
        return self.writer.write(collect(target, job, memo, self.clock))

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
