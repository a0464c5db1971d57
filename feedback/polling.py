"""Polling of configured sources: which are due, one poll each, the outcome stored as data.

Each poll's result (time, error, Retry-After) is written to the source's `source_state`
row, so the settings page can show it; a 429 sets `retry_after_until` and the source is
left alone until then. One failing source never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from core.clock import as_utc
from core.db import insert_ignore
from feedback.analysis import Analyser
from feedback.analysis_models import SourceState
from feedback.discourse import poll_discourse
from feedback.errors import RateLimited, SourceError
from feedback.feeds import poll_feed
from feedback.sources import SourceConfig, SourceType

log = logging.getLogger(__name__)

Poller = Callable[[Session, SourceConfig, SourceState, datetime, Analyser], Any]
POLLERS: dict[SourceType, Poller] = {
    SourceType.DISCOURSE: poll_discourse,
    SourceType.FEED: poll_feed,
}


@dataclass
class PollReport:
    source: str
    added: int = 0
    error: str | None = None
    waiting_until: datetime | None = None
    skipped: bool = False
    details: dict[str, Any] = field(default_factory=dict)


def state_for(session: Session, name: str) -> SourceState:
    """The source's state row, created on first use (insert-or-ignore: safe with two workers)."""
    table = SourceState.__table__  # type: ignore[attr-defined]
    session.execute(insert_ignore(session, table, ["source"]).values(source=name, items_total=0))
    return session.exec(select(SourceState).where(SourceState.source == name)).one()


def is_due(source: SourceConfig, state: SourceState, now: datetime) -> bool:
    if source.poll_interval_s is None:
        return False
    if state.retry_after_until is not None:  # the forum's wait replaces the interval
        return now >= as_utc(state.retry_after_until)
    if state.backfill_cursor is not None:  # a catch-up is under way: go on at once
        return True
    last = state.last_poll_at
    return last is None or now - as_utc(last) >= timedelta(seconds=source.poll_interval_s)


def poll_source(
    session: Session,
    source: SourceConfig,
    now: datetime,
    analyser: Analyser,
    *,
    force: bool = False,
) -> PollReport:
    """Poll one source if it is due (or `force`, which still honours Retry-After)."""
    state = state_for(session, source.name)
    report = PollReport(source=source.name)
    waiting = state.retry_after_until is not None and now < as_utc(state.retry_after_until)
    if waiting or not (force or is_due(source, state, now)):
        report.skipped = True
        report.waiting_until = state.retry_after_until if waiting else None
        return report
    state.last_poll_at = now
    try:
        outcome = POLLERS[source.type](session, source, state, now, analyser)
    except RateLimited as exc:
        state.retry_after_until = now + timedelta(seconds=exc.retry_after_s)
        state.last_error = report.error = str(exc)
        report.waiting_until = state.retry_after_until
    except SourceError as exc:
        state.last_error = report.error = str(exc)
        log.warning("feedback source %s: %s", source.name, exc)
    else:
        report.added = int(getattr(outcome, "added", 0))
        report.details = dict(vars(outcome))
        state.last_error = None
        state.retry_after_until = None
        state.last_success_at = now
        state.items_total += report.added
    session.add(state)
    session.flush()
    return report


def poll_due_sources(
    session: Session, sources: list[SourceConfig], now: datetime, analyser: Analyser
) -> list[PollReport]:
    return [poll_source(session, source, now, analyser) for source in sources]
