"""Scrape scheduling: a bounded thread pool, each target started at a stable offset.

A target is due once per interval, at `k * interval + offset` where the offset comes from a
stable hash of (job, url) — the same spreading Prometheus does — so a few hundred targets
do not all fire in the same second. A target still running is never started again, and a
slow or hanging one holds one worker at most until its own timeout.
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

from collector.config import ScrapeConfig
from collector.models import Target
from collector.scrape import ScrapeOutcome, SeriesMemo, TargetSpec, scrape_target
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
        future = self.executor.submit(scrape_target, self.engine, target, job, memo, self.clock)
        with self._lock:
            self.running[target.id] = future
        future.add_done_callback(partial(self._finished, target.id))
        return future

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
