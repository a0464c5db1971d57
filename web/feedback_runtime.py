"""Per-app feedback objects for the views: the analyser and the list of known services."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import col

from feedback.analysis import Analyser
from feedback.errors import FeedbackConfigError
from feedback.models import Feedback, Survey
from feedback.surveys import config_surveys, sync_config_surveys
from web.state import db, runtime

log = logging.getLogger(__name__)


def feedback_analyser() -> Analyser:
    """One analyser per app, built from the config file's `feedback:` section."""
    cached = current_app.extensions.get("feedback_analyser")
    if cached is None:
        cached = Analyser.from_config(runtime().config)
        current_app.extensions["feedback_analyser"] = cached
    analyser: Analyser = cached
    return analyser


def known_services() -> list[str]:
    """Services a person may pick: the configured ones, else those seen in the data."""
    configured = _configured_services()
    if configured:
        return configured
    names: set[str] = set()
    session = db()
    for column in (col(Feedback.service), col(Survey.service)):
        names.update(v for v in session.execute(select(column).distinct()).scalars() if v)
    try:
        target = importlib.import_module("collector.models").Target
        names.update(v for v in session.execute(select(target.job).distinct()).scalars() if v)
    except (ImportError, AttributeError, SQLAlchemyError):
        # the collector's tables are absent (area not installed yet): the feedback data is enough
        session.rollback()
    return sorted(names)


def _configured_services() -> list[str]:
    try:
        load_services = importlib.import_module("collector.services").load_services
    except (ImportError, AttributeError):
        return []
    try:
        services: Any = load_services(runtime().config)
    except Exception:  # a config error is reported by the collector's own pages
        log.warning("cannot read the configured services", exc_info=True)
        return []
    names = []
    for item in services or []:
        name = getattr(item, "name", item)
        if isinstance(name, str) and name:
            names.append(name)
    return sorted(set(names))


def ensure_config_surveys() -> str | None:
    """Write the config file's surveys to the database once per app; the error, if any."""
    state = current_app.extensions.setdefault("feedback_surveys", {})
    if "synced" in state:
        return state.get("error")
    rt = runtime()
    try:
        specs = config_surveys(rt.config)
    except FeedbackConfigError as exc:
        log.error("%s", exc)
        state.update(synced=True, error=str(exc), slugs=set())
        return str(exc)
    session = db()
    try:
        sync_config_surveys(session, specs, rt.now())
        session.commit()
    except IntegrityError:
        session.rollback()  # another request (or process) wrote the same survey first
    state.update(synced=True, error=None, slugs={s.slug for s in specs})
    return None


def config_survey_slugs() -> set[str]:
    ensure_config_surveys()
    slugs: set[str] = current_app.extensions["feedback_surveys"]["slugs"]
    return slugs
