"""One scrape of one target: fetch like Prometheus, parse, relabel, store, record the outcome.

A scrape is two steps: `collect` (fetch and parse, no database) and `store_scrapes`, which
writes any number of collected scrapes in one transaction -- the scrape pool hands it
whatever finished while the previous write ran, so commits and status rows are shared.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.engine import Engine

from collector.config import JobConfig
from collector.errors import ParseError, ScrapeError
from collector.exposition import Exposition, format_of, parse, split_known
from collector.fetch import fetch
from collector.landing import Landing, foreign_series
from collector.models import Health, ScrapeRun, Target
from collector.relabel import relabel
from collector.storage import (
    ensure_series,
    forget_series_ids,
    mark_seen,
    mark_stale,
    sample_transaction,
    series_generation,
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
    # Series of the memo that another target owns (landing.foreign_series).
    foreign: set[int] = field(default_factory=set)
    fingerprint: str = ""
    generation: int = 0  # storage.series_generation the ids were read under

    def clear(self) -> None:
        """Forget the series ids (not which series are live)."""
        self.ids.clear()
        self.synthetic_ids = []
        self.foreign = set()

    def reset_if_changed(self, fingerprint: str) -> None:
        """Forget everything when the target's labels or relabel rules changed."""
        if fingerprint != self.fingerprint:
            self.clear()
            self.fingerprint = fingerprint

    def forget(self) -> None:
        """After a rollback: the ids may name series that were never committed."""
        self.clear()
        self.live = set()


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


@dataclass
class Collected:
    """A fetched and parsed scrape, waiting to be written (see store_scrapes).

    Either `known` holds (series id or None, value) of every sample -- the steady state,
    read by split_known from the memo -- or `exposition` holds the parsed body, or the
    outcome has an error.
    """

    target: TargetSpec
    job: JobConfig
    memo: SeriesMemo
    outcome: ScrapeOutcome
    body: str = ""
    content_type: str | None = None
    exposition: Exposition | None = None
    known: tuple[list[int | None], list[float]] | None = None

    @property
    def scrape_ms(self) -> int:
        return to_ms(self.outcome.started_at)


def collect(
    target: TargetSpec, job: JobConfig, memo: SeriesMemo, clock: Callable[[], datetime]
) -> Collected:
    """Fetch and parse one target, touching no database; a failure of the target is kept
    in the outcome (up=0), not raised. scrape_duration_seconds is this part, as in
    Prometheus (the time the scrape took, not the time its samples waited to be written)."""
    started_at = clock()
    t0 = time.perf_counter()
    item = Collected(target, job, memo, ScrapeOutcome(target.id, started_at, 0.0))
    memo.reset_if_changed(_fingerprint(target, job))
    try:
        item.body, item.content_type = fetch(
            target.url,
            timeout_s=target.timeout_s,
            body_limit_bytes=job.body_limit_bytes,
            headers=job.headers,
            basic_auth=job.basic_auth,
        )
        if memo.ids and format_of(item.content_type) == "text":
            item.known = split_known(item.body, memo.ids)
        if item.known is not None:
            item.outcome.scraped = len(item.known[1])
        else:
            item.exposition = parse(item.body, item.content_type, known=memo.ids)
            item.outcome.scraped = len(item.exposition.samples)
    except (ScrapeError, ParseError) as exc:
        item.outcome.error = f"parse error: {exc}" if isinstance(exc, ParseError) else str(exc)
    item.outcome.duration_s = time.perf_counter() - t0
    return item


def store_scrapes(engine: Engine, batch: Sequence[Collected]) -> None:
    """Write collected scrapes -- samples, synthetic series, staleness, target status and
    scrape runs -- in one transaction; each scrape's samples are one row (a batch).

    Limits are checked per target before its samples are kept, so a refused scrape leaves
    no samples. Raises when the transaction fails; the caches of every scrape in the batch
    are forgotten then, since the rollback may have dropped series they hold ids of.
    """
    landing = Landing()
    try:
        with sample_transaction(engine) as conn:
            generation = series_generation(engine)  # read under the write lock
            live = _present(conn, batch)
            for item in live:
                _store_one(conn, item, generation, landing)
            landing.write(conn)
            if live:
                _record(conn, live)
    except Exception:
        for item in batch:
            item.memo.forget()
        forget_series_ids(engine)
        raise


def scrape_target(
    engine: Engine,
    target: TargetSpec,
    job: JobConfig,
    memo: SeriesMemo,
    clock: Callable[[], datetime],
) -> ScrapeOutcome:
    """Scrape one target and store everything, including the synthetic series, in one
    transaction; a failure of the target itself is recorded (up=0, last_error), not raised."""
    item = collect(target, job, memo, clock)
    store_scrapes(engine, [item])
    return item.outcome


def _present(conn: Connection, batch: Sequence[Collected]) -> list[Collected]:
    """The scrapes whose target still exists. One removed while it was being scraped gets
    nothing written (sample_transaction does not check foreign keys on SQLite)."""
    targets = Target.__table__  # type: ignore[attr-defined]
    wanted = [item.target.id for item in batch]
    found = set(conn.execute(select(targets.c.id).where(targets.c.id.in_(wanted))).scalars())
    for item in batch:
        if item.target.id not in found:
            item.outcome.error = "the target was removed while it was being scraped"
    return [item for item in batch if item.target.id in found]


def _store_one(conn: Connection, item: Collected, generation: int, landing: Landing) -> None:
    """One scrape's part of store_scrapes: its samples and synthetic series into `landing`."""
    memo, outcome = item.memo, item.outcome
    if memo.generation != generation:  # series were deleted or rolled back since
        memo.clear()
        memo.generation = generation
        if outcome.error is None:  # it was read with the memo's ids: read it afresh
            item.known = None
            try:
                item.exposition = parse(item.body, item.content_type)
            except ParseError as exc:  # (it was read once, so this should not happen)
                outcome.error = f"parse error: {exc}"
    ids: list[int] = []  # of the samples stamped with the scrape's time
    values: list[float] = []
    if outcome.error is None:
        try:  # ingest checks its limits before it keeps anything
            stamped: list[int] = []  # series of samples with a timestamp of their own
            if item.known is not None:
                ids, values = _known_samples(item)
            else:
                assert item.exposition is not None
                ids, values, stamped, outcome.series_added = ingest(
                    conn, item.target, item.job, item.exposition, item.scrape_ms, memo,
                    outcome.started_at, landing.rows,
                )  # fmt: skip
            outcome.post_relabel = len(ids) + len(stamped)
            _track_liveness(conn, memo, ids + stamped, outcome.started_at)
        except ScrapeError as exc:
            outcome.error = str(exc)
    if outcome.error is not None and memo.live:
        mark_stale(conn, memo.live, outcome.started_at)  # a failed scrape: all its series
        memo.live = set()
    if not memo.synthetic_ids:
        items = [(name, item.target.labels, "gauge") for name in SYNTHETIC]
        memo.synthetic_ids, _ = ensure_series(conn, items, item.target.id, outcome.started_at)
        memo.foreign |= foreign_series(conn, memo.synthetic_ids, item.target.id)
    synthetic = (
        1.0 if outcome.up else 0.0,
        outcome.duration_s,
        float(outcome.scraped),
        float(outcome.post_relabel),
        float(outcome.series_added),
    )
    ids = ids + memo.synthetic_ids
    values = values + list(synthetic)
    if memo.foreign:  # series another target owns land row by row
        owned = [(sid, v) for sid, v in zip(ids, values, strict=True) if sid not in memo.foreign]
        others = [(sid, v) for sid, v in zip(ids, values, strict=True) if sid in memo.foreign]
        landing.rows.extend((sid, item.scrape_ms, v) for sid, v in others)
        ids, values = [sid for sid, _ in owned], [v for _, v in owned]
    landing.add_scrape(item.target.id, item.scrape_ms, ids, values)


def _known_samples(item: Collected) -> tuple[list[int], list[float]]:
    """ingest() for a body whose every series the memo knows: no series work at all."""
    assert item.known is not None
    ids, values = item.known
    if None in ids:  # series dropped by metric_relabel_configs
        kept = [(sid, v) for sid, v in zip(ids, values, strict=True) if sid is not None]
        ids, values = [sid for sid, _ in kept], [v for _, v in kept]
    if item.job.sample_limit and len(ids) > item.job.sample_limit:
        raise ScrapeError(f"sample_limit exceeded: {len(ids)} samples > {item.job.sample_limit}")
    return ids, values  # type: ignore[return-value]


def _track_liveness(conn: Connection, memo: SeriesMemo, ids: list[int], now: datetime) -> None:
    current = set(ids)
    mark_stale(conn, memo.live - current, now)
    mark_seen(conn, current - memo.live, now)
    memo.live = current


def ingest(
    conn: Connection,
    target: TargetSpec,
    job: JobConfig,
    exposition: Exposition,
    scrape_ms: int,
    memo: SeriesMemo,
    now: datetime,
    rows: list[tuple[int, int, float]],
) -> tuple[list[int], list[float], list[int], int]:
    """Resolve a parsed exposition's series (creating new ones): the ids and values of the
    samples stamped with the scrape's time; the ids of those with a timestamp of their own,
    which go to `rows` (sample_recent); and the number of series added.

    Limits are checked before anything is written, so a refused scrape leaves no trace.
    """
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
        memo.foreign |= foreign_series(conn, new_ids, target.id)
    kept_ids: list[int] = []
    kept_values: list[float] = []
    stamped: list[int] = []
    for sample, key in zip(exposition.samples, exposition.keys, strict=True):
        sid = ids[key]
        if sid is None:
            continue
        if sample.timestamp_ms is None:
            kept_ids.append(sid)
            kept_values.append(sample.value)
        else:
            rows.append((sid, sample.timestamp_ms, sample.value))
            stamped.append(sid)
    return kept_ids, kept_values, stamped, added


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


def _record(conn: Connection, batch: Sequence[Collected]) -> None:
    """Each target's status and a scrape_run row per scrape: one executemany each."""
    targets = Target.__table__  # type: ignore[attr-defined]
    conn.execute(
        update(targets)
        .where(targets.c.id == bindparam("target_id"))
        .values(
            health=bindparam("health"),
            last_scrape_at=bindparam("started_at"),
            last_duration_s=bindparam("duration_s"),
            last_samples=bindparam("samples"),
            last_error=bindparam("error"),
        ),
        [dict(_run_row(item.outcome), health=_health(item.outcome)) for item in batch],
    )
    conn.execute(
        insert(ScrapeRun.__table__),  # type: ignore[attr-defined]
        [_run_row(item.outcome) for item in batch],
    )


def _health(outcome: ScrapeOutcome) -> str:
    return (Health.UP if outcome.up else Health.DOWN).value


def _run_row(outcome: ScrapeOutcome) -> dict[str, object]:
    return {
        "target_id": outcome.target_id,
        "started_at": outcome.started_at,
        "duration_s": outcome.duration_s,
        "samples": outcome.post_relabel,
        "error": outcome.error,
    }
