"""What the scheduler runs for feedback: poll the sources, cluster new feedback, demo stream.

Each run opens its own session and commits its work, so the job wrappers in
opsloop/jobs.py stay one line each. The analyser, the parsed sources and the theme cache
are built once per process (`FeedbackRuns.from_config`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from core.config import RawConfig
from core.db import session_scope
from feedback.analysis import Analyser
from feedback.demo import add_demo_feedback
from feedback.polling import PollReport, poll_source
from feedback.source_store import all_sources
from feedback.sources import SourceConfig, load_sources
from feedback.theme_store import ClusterResult, ThemeCache, cluster_new_feedback

log = logging.getLogger(__name__)

CLUSTER_INTERVAL_S = 30.0
# How often the poll job looks for due sources, so that a catch-up, an expired Retry-After
# or a source added on the settings page goes on promptly; each source is still fetched
# only when its own poll_interval says it is due.
POLL_CHECK_S = 30.0


@dataclass
class FeedbackRuns:
    analyser: Analyser
    sources: list[SourceConfig]
    theme_cache: ThemeCache = field(default_factory=ThemeCache)

    @classmethod
    def from_config(cls, raw_config: RawConfig) -> FeedbackRuns:
        return cls(analyser=Analyser.from_config(raw_config), sources=load_sources(raw_config))

    def poll_all(self, engine: Engine, now: datetime) -> list[PollReport]:
        """Poll every source that is due: the config file's and those added on the page."""
        with session_scope(engine) as session:
            sources = all_sources(session, self.sources)
        return [self.poll(engine, source, now) for source in sources]

    def poll(self, engine: Engine, source: SourceConfig, now: datetime) -> PollReport:
        with session_scope(engine) as session:
            report = poll_source(session, source, now, self.analyser)
        if report.added:
            log.info("feedback source %s: %d new", source.name, report.added)
        return report

    def cluster(self, engine: Engine, now: datetime) -> ClusterResult:
        try:
            with session_scope(engine) as session:
                return cluster_new_feedback(session, now, self.theme_cache)
        except Exception:
            # the cached index may hold themes of the rolled-back run: rebuild it next time
            self.theme_cache.index = None
            raise

    def demo(self, engine: Engine, now: datetime) -> int:
        with session_scope(engine) as session:
            return add_demo_feedback(session, now, self.analyser)
