"""The collector's scheduled work, given a runtime: target sync, scrape ticks, rollups.

Each function here is what one JobSpec of opsloop/jobs.py calls; the long-lived state
(parsed scrape config, the scrape pool, file_sd modification times) lives in
runtime.areas["collector"].
"""

from __future__ import annotations

import gc
import logging
from concurrent.futures import Future
from dataclasses import dataclass, field

from collector.config import ScrapeConfig, load_scrape_config
from collector.errors import ScrapeConfigError
from collector.pool import ScrapePool
from collector.retention import apply_retention, roll_up
from collector.scrape import ScrapeOutcome
from collector.storage import write_lock
from collector.targets import (
    FileSDState,
    ensure_self_target,
    file_sd_changed,
    sync_config_targets,
)
from core.clock import to_ms
from core.db import session_scope
from core.errors import ConfigError
from core.runtime import Runtime

log = logging.getLogger(__name__)

AREA = "collector"
SCRAPE_TICK_S = 1.0
TARGET_SYNC_S = 10.0
ROLLUP_EVERY_S = 60.0
RETENTION_EVERY_S = 3600.0


@dataclass
class CollectorState:
    config: ScrapeConfig
    pool: ScrapePool
    file_sd: FileSDState = field(default_factory=FileSDState)
    synced: bool = False
    last_retention_ms: int = 0


def tune_gc() -> None:
    """Fewer garbage-collector passes for a process that scrapes.

    Parsing allocates a few objects per sample, all short-lived and free of cycles; with
    the default threshold (700) the collector runs every few hundred samples and walks the
    whole young heap each time. Objects alive at start are frozen out of its view.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def collector_state(runtime: Runtime) -> CollectorState:
    """The collector's state of this process; a bad scrape config is a ConfigError."""
    state = runtime.areas.get(AREA)
    if state is None:
        try:
            config = load_scrape_config(runtime.config)
        except ScrapeConfigError as exc:
            raise ConfigError(str(exc)) from exc
        state = CollectorState(config, ScrapePool(runtime.engine, config, runtime.clock))
        runtime.areas[AREA] = state
        tune_gc()
    assert isinstance(state, CollectorState)
    return state


def sync_targets(runtime: Runtime) -> bool:
    """Config targets (static and file_sd) and the self target into the target table.

    Runs fully at start, then again only when a file_sd file changed; True when it synced.
    """
    state = collector_state(runtime)
    if state.synced and not file_sd_changed(state.config, state.file_sd):
        return False
    try:
        with write_lock(runtime.engine), session_scope(runtime.engine) as session:
            sync_config_targets(session, state.config, state.file_sd)
            ensure_self_target(session, runtime.settings.public_url, state.config)
    except ScrapeConfigError as exc:
        # a broken file_sd file: keep the targets we have and say why, as Prometheus does
        log.error("target sync failed: %s", exc)
        state.synced = True
        return False
    state.synced = True
    return True


def scrape_due_targets(runtime: Runtime) -> list[Future[ScrapeOutcome]]:
    """Start every target due now in the bounded pool; does not wait for them.

    Targets appear once the collector.targets job has synced them (it runs at start too).
    """
    return collector_state(runtime).pool.tick(runtime.now())


def roll_up_and_retain(runtime: Runtime) -> int:
    """Pack scraped samples of complete 5-minute buckets into `sample_chunk` and roll those
    buckets up (retention.roll_up does both); once an hour, delete what is past retention."""
    state = collector_state(runtime)
    now_ms = to_ms(runtime.now())
    written = roll_up(runtime.engine, now_ms)
    if now_ms - state.last_retention_ms >= RETENTION_EVERY_S * 1000:
        removed = apply_retention(
            runtime.engine,
            now_ms,
            raw_keep_s=state.config.raw_retention_s,
            rollup_keep_s=state.config.rollup_retention_s,
        )
        state.last_retention_ms = now_ms
        log.info("retention removed %s", removed)
    return written
