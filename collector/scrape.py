"""One scrape of one target: fetch like Prometheus, parse, relabel, store, record the outcome."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, insert, update
from sqlalchemy.engine import Engine

from collector.config import JobConfig
from collector.errors import ParseError, ScrapeError
from collector.exposition import Exposition, parse
from collector.fetch import fetch
from collector.models import Health, ScrapeRun, Target
from collector.relabel import relabel
from collector.storage import (
    ensure_series,
    forget_series_ids,
    insert_samples,
    mark_seen,
    mark_stale,
    write_lock,
)
from collector.targets import target_labels
from core.clock import to_ms


@dataclass(frozen=True)
class TargetSpec:
    """A snapshot of a target row: what a scrape needs, safe to hand to another thread."""

    id: int
    job: str
    url: str
    labels: dict[str, str]
    interval_s: float
    timeout_s: float

    @classmethod
    def of(cls, target: Target) -> TargetSpec:
        """`labels` are all the target's labels: job, instance and its own."""
        assert target.id is not None
        return cls(
            target.id,
            target.job,
            target.url,
            target_labels(target),
            target.interval_s,
            target.timeout_s,
        )


@dataclass
class SeriesMemo:
    """Per target: exposition text of a series -> its id (None: dropped by relabelling).

    Prometheus keeps the same cache: a series seen before costs a dict lookup, not a
    rebuild of its labels and a database round trip.
    """

    ids: dict[str, int | None] = field(default_factory=dict)
    live: set[int] = field(default_factory=set)
    synthetic_ids: list[int] = field(default_factory=list)
    fingerprint: str = ""

    def reset_if_changed(self, fingerprint: str) -> None:
        """Forget everything when the target's labels or relabel rules changed."""
        if fingerprint != self.fingerprint:
            self.ids.clear()
            self.synthetic_ids = []
            self.fingerprint = fingerprint


@dataclass
class ScrapeOutcome:
    target_id: int
    started_at: datetime
    duration_s: float
    scraped: int = 0
    post_relabel: int = 0
    series_added: int = 0
    error: str | None = None

    @property
    def up(self) -> bool:
        return self.error is None


def target_sample_labels(
    scraped: dict[str, str], target_labels: dict[str, str], honor_labels: bool
) -> dict[str, str]:
    """Add the target's labels to scraped ones, exactly as Prometheus's mutateSampleLabels.

    honor_labels false: the target wins, a clashing scraped value moves to exported_<name>
    (exported_exported_<name> when that is taken, shortest names first); true: the scraped
    value wins. Empty values mean "no label" and are dropped.
    """
    labels = {k: v for k, v in scraped.items() if v}
    clashes = []
    for name, value in target_labels.items():
        if honor_labels and labels.get(name):
            continue
        if labels.get(name):
            clashes.append((name, labels[name]))
        labels[name] = value
    for name, value in sorted(clashes, key=lambda c: len(c[0])):
        new = "exported_" + name
        while labels.get(new):
            new = "exported_" + new
        labels[new] = value
    return {k: v for k, v in labels.items() if v}


def _fingerprint(target: TargetSpec, job: JobConfig) -> str:
    return json.dumps([target.labels, repr(job.metric_relabel), job.honor_labels], sort_keys=True)


def ingest(
    conn: Connection,
    target: TargetSpec,
    job: JobConfig,
    exposition: Exposition,
    scrape_ms: int,
    memo: SeriesMemo,
    now: datetime,
) -> tuple[int, int]:
    """Store a parsed exposition for a target; (samples kept after relabelling, series added).

    Limits are checked before anything is written, so a refused scrape leaves no trace.
    """
    memo.reset_if_changed(_fingerprint(target, job))
    ids = memo.ids
    new_keys, new_items = _unknown_series(exposition, target, job, ids)
    if job.sample_limit:
        new_set = set(new_keys)
        kept_count = sum(1 for k in exposition.keys if k in new_set or ids.get(k) is not None)
        if kept_count > job.sample_limit:
            raise ScrapeError(f"sample_limit exceeded: {kept_count} samples > {job.sample_limit}")
    added = 0
    if new_items:
        new_ids, added = ensure_series(conn, new_items, target.id, now)
        ids.update(zip(new_keys, new_ids, strict=True))
    rows = []
    for sample, key in zip(exposition.samples, exposition.keys, strict=True):
        sid = ids[key]
        if sid is not None:
            ts = scrape_ms if sample.timestamp_ms is None else sample.timestamp_ms
            rows.append((sid, ts, sample.value))
    insert_samples(conn, rows, recent=True)
    current = {sid for sid, _, _ in rows}
    mark_stale(conn, memo.live - current, now)
    mark_seen(conn, current - memo.live, now)
    memo.live = current
    return len(rows), added


def _unknown_series(
    exposition: Exposition, target: TargetSpec, job: JobConfig, ids: dict[str, int | None]
) -> tuple[list[str], list[tuple[str, dict[str, str], str | None]]]:
    """Keys and (name, labels, kind) of series not in the memo; dropped ones go to it as None."""
    kinds: dict[str, str] | None = None
    new_keys: list[str] = []
    new_set: set[str] = set()
    new_items: list[tuple[str, dict[str, str], str | None]] = []
    for sample, key in zip(exposition.samples, exposition.keys, strict=True):
        if key in ids or key in new_set:
            continue
        labels = target_sample_labels(sample.labels, target.labels, job.honor_labels)
        labels["__name__"] = sample.name
        kept = relabel(labels, job.metric_relabel)
        if kept is None:
            ids[key] = None
            continue
        kinds = kinds if kinds is not None else exposition.kinds()
        name = kept.pop("__name__", sample.name)
        new_keys.append(key)
        new_set.add(key)
        new_items.append((name, kept, kinds.get(sample.name)))
    return new_keys, new_items


SYNTHETIC = (
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
)


def scrape_target(
    engine: Engine,
    target: TargetSpec,
    job: JobConfig,
    memo: SeriesMemo,
    clock: Callable[[], datetime],
) -> ScrapeOutcome:
    """Scrape one target and store everything, including the synthetic series, in one
    transaction; a failure of the target itself is recorded (up=0, last_error), not raised."""
    started_at = clock()
    scrape_ms = to_ms(started_at)
    t0 = time.perf_counter()
    outcome = ScrapeOutcome(target.id, started_at, 0.0)
    exposition: Exposition | None = None
    memo.reset_if_changed(_fingerprint(target, job))
    try:
        body, content_type = fetch(
            target.url,
            timeout_s=target.timeout_s,
            body_limit_bytes=job.body_limit_bytes,
            headers=job.headers,
            basic_auth=job.basic_auth,
        )
        exposition = parse(body, content_type, known=memo.ids)
        outcome.scraped = len(exposition.samples)
    except (ScrapeError, ParseError) as exc:
        outcome.error = f"parse error: {exc}" if isinstance(exc, ParseError) else str(exc)
    try:
        with write_lock(engine), engine.begin() as conn:
            if exposition is not None:
                try:  # ingest checks its limits before it writes anything
                    outcome.post_relabel, outcome.series_added = ingest(
                        conn, target, job, exposition, scrape_ms, memo, started_at
                    )
                except ScrapeError as exc:
                    outcome.error = str(exc)
            if outcome.error is not None and memo.live:
                mark_stale(conn, memo.live, started_at)  # a failed scrape: all its series
                memo.live = set()
            outcome.duration_s = time.perf_counter() - t0
            _record(conn, target, outcome, scrape_ms, memo)
    except Exception:
        # the rollback may have dropped series whose ids the caches now hold
        memo.ids.clear()
        memo.synthetic_ids = []
        memo.live = set()
        forget_series_ids(engine)
        raise
    return outcome


def _record(
    conn: Connection, target: TargetSpec, outcome: ScrapeOutcome, scrape_ms: int, memo: SeriesMemo
) -> None:
    """Synthetic series as Prometheus writes them, the target's status, and a scrape_run."""
    values = (
        1.0 if outcome.up else 0.0,
        outcome.duration_s,
        float(outcome.scraped),
        float(outcome.post_relabel),
        float(outcome.series_added),
    )
    if not memo.synthetic_ids:
        items = [(name, target.labels, "gauge") for name in SYNTHETIC]
        memo.synthetic_ids, _ = ensure_series(conn, items, target.id, outcome.started_at)
    rows = [(sid, scrape_ms, v) for sid, v in zip(memo.synthetic_ids, values, strict=True)]
    insert_samples(conn, rows, recent=True)
    targets = Target.__table__  # type: ignore[attr-defined]
    conn.execute(
        update(targets)
        .where(targets.c.id == target.id)
        .values(
            health=(Health.UP if outcome.up else Health.DOWN).value,
            last_scrape_at=outcome.started_at,
            last_duration_s=outcome.duration_s,
            last_samples=outcome.post_relabel,
            last_error=outcome.error,
        )
    )
    conn.execute(
        insert(ScrapeRun.__table__),  # type: ignore[attr-defined]
        {
            "target_id": target.id,
            "started_at": outcome.started_at,
            "duration_s": outcome.duration_s,
            "samples": outcome.post_relabel,
            "error": outcome.error,
        },
    )
