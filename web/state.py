"""Per-app and per-request access to the runtime and the database session."""

from __future__ import annotations

from flask import current_app, g, request
from sqlmodel import Session

from core.db import reading
from core.runtime import Runtime

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["opsloop"]
    return rt


def db() -> Session:
    """The request's session, opened on first use and closed at teardown.

    Safe requests read without taking SQLite's write lock, so pages never wait for a scrape.
    """
    if "db" not in g:
        engine = runtime().engine
        if request.method in SAFE_METHODS:
            engine = current_app.extensions.setdefault("opsloop_read_engine", reading(engine))
        g.db = Session(engine, expire_on_commit=False)
    session: Session = g.db
    return session


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()
