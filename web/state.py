"""Per-app and per-request access to the runtime and the database session."""

from __future__ import annotations

from flask import current_app, g
from sqlmodel import Session

from core.runtime import Runtime


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["opsloop"]
    return rt


def db() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = Session(runtime().engine, expire_on_commit=False)
    session: Session = g.db
    return session


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()
