"""Sources added on the settings page: stored as config-shaped definitions, merged with the file.

A stored source goes through the same validation as a config-file entry. Its name may
not be one the config file already uses: the file stays the authority for its sources.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from feedback.analysis_models import StoredSource
from feedback.errors import FeedbackConfigError
from feedback.sources import SourceConfig, definition_of, parse_source

ORIGIN = "settings"


def stored_sources(session: Session) -> list[SourceConfig]:
    rows = session.exec(select(StoredSource).order_by(col(StoredSource.name)))
    return [replace(parse_source(json.loads(r.definition)), origin=ORIGIN) for r in rows]


def all_sources(session: Session, config_sources: Sequence[SourceConfig]) -> list[SourceConfig]:
    """The config file's sources, then those added on the settings page."""
    taken = {s.name for s in config_sources}
    return [*config_sources, *(s for s in stored_sources(session) if s.name not in taken)]


def save_source(
    session: Session,
    entry: Mapping[str, Any],
    config_sources: Sequence[SourceConfig],
    now: datetime,
    by: str,
    replacing: str | None = None,
) -> SourceConfig:
    """Create a stored source, or replace the one named `replacing`; FeedbackConfigError if bad."""
    source = parse_source(entry)
    if source.name in {s.name for s in config_sources}:
        raise FeedbackConfigError(
            f"the name {source.name!r} is used by the config file; choose another"
        )
    row = None
    if replacing is not None:
        row = session.exec(select(StoredSource).where(StoredSource.name == replacing)).first()
        if row is None:
            raise FeedbackConfigError(f"no source named {replacing!r} was added here")
    clash = session.exec(select(StoredSource).where(StoredSource.name == source.name)).first()
    if clash is not None and clash is not row:
        raise FeedbackConfigError(f"a source named {source.name!r} exists already")
    definition = json.dumps(definition_of(source), sort_keys=True)
    if row is None:
        row = StoredSource(name=source.name, definition=definition, created_at=now, updated_at=now)
    row.name, row.definition, row.updated_at, row.updated_by = source.name, definition, now, by
    session.add(row)
    session.flush()
    return replace(source, origin=ORIGIN)


def delete_source(session: Session, name: str) -> None:
    row = session.exec(select(StoredSource).where(StoredSource.name == name)).first()
    if row is None:
        raise FeedbackConfigError(f"no source named {name!r} was added here")
    session.delete(row)
    session.flush()
