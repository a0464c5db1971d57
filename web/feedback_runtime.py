"""Per-app feedback objects for the views: the analyser and the list of known services."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from collector.errors import ServiceConfigError
from collector.models import Target
from collector.services import load_services
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
    try:
        configured = sorted({spec.name for spec in load_services(runtime().config)})
    except ServiceConfigError:
        log.warning("the services section of the config file is unusable", exc_info=True)
        configured = []
    if configured:
        return configured
    names: set[str] = set()
    session = db()
    for column in (col(Feedback.service), col(Survey.service), col(Target.job)):
        names.update(v for v in session.execute(select(column).distinct()).scalars() if v)
    return sorted(names)


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
