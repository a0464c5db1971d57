"""Per-app feedback objects for the views: the analyser and the list of known services."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from feedback.analysis import Analyser
from feedback.models import Feedback, Survey
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
