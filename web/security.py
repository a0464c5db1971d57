"""Who is asking: sessions (Flask-Login) and bearer tokens; default-deny route guard; CSRF."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from core.accounts import touch_due, touch_token, verify_token
from core.db import reading, session_scope
from core.errors import AuthError
from core.models import Role, Scope, User
from web.state import db, runtime

F = TypeVar("F", bound=Callable[..., Any])

login_manager = LoginManager()
csrf = CSRFProtect()

_SCOPE_ROLE = {Scope.READ: Role.VIEWER, Scope.WRITE: Role.EDITOR, Scope.ADMIN: Role.ADMIN}


@dataclass(frozen=True)
class Principal:
    """A logged-in user or an API token, reduced to what authorisation needs."""

    kind: str  # "user" | "token"
    name: str
    role: Role
    user_id: int | None = None


class LoginUser(UserMixin):
    def __init__(self, user: User) -> None:
        self.id = user.id
        self.name = user.name
        self.role = Role(user.role)


def public(view: F) -> F:
    """Mark a view as reachable without login (the allow-list the URL-map test checks)."""
    view._opsloop_public = True  # type: ignore[attr-defined]
    return view


def csrf_exempt(view: F) -> F:
    """Mark a view whose POSTs carry their own proof (a webhook signature), not a CSRF token."""
    view._opsloop_csrf_exempt = True  # type: ignore[attr-defined]
    return view


def is_public(view: Callable[..., Any] | None) -> bool:
    return bool(getattr(view, "_opsloop_public", False))


def principal() -> Principal | None:
    return g.get("principal")


def require_role(role: Role) -> Callable[[F], F]:
    """Views that change data need at least editor; settings and users need admin."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            who = principal()
            if who is None or not who.role.allows(role):
                abort(403, description=f"this needs the {role.value} role")
            return view(*args, **kwargs)

        wrapper._opsloop_role = role  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def init_security(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    app.before_request(_guard)


@login_manager.user_loader
def _load_user(user_id: str) -> LoginUser | None:
    user = db().get(User, int(user_id))
    return LoginUser(user) if user is not None else None


def _bearer_principal() -> Principal | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    rt = runtime()
    now = rt.now()
    try:
        with Session(reading(rt.engine)) as session:
            token = verify_token(session, header[7:].strip())
    except AuthError as exc:
        g.auth_error = str(exc)
        return None
    if touch_due(token, now):
        try:
            with session_scope(rt.engine) as session:
                touch_token(session, token.id or 0, now)
        except OperationalError:
            pass  # only the last-used time was being written: never fail the request for it
    role = max((_SCOPE_ROLE[s] for s in token.scope_set), key=lambda r: r.rank)
    return Principal(kind="token", name=token.name, role=role)


def _guard() -> ResponseReturnValue | None:
    """Default deny: every endpoint not marked public needs a session or a bearer token."""
    view = current_app.view_functions.get(request.endpoint or "")
    who: Principal | None = None
    bearer = _bearer_principal()
    if bearer is not None:
        who = bearer
    elif current_user.is_authenticated:
        who = Principal(
            kind="user", name=current_user.name, role=current_user.role, user_id=current_user.id
        )
    g.principal = who
    if who is None and view is not None and not is_public(view):
        if is_api_request() or "Authorization" in request.headers:
            reason = g.get("auth_error", "authentication required: send a bearer token")
            return jsonify(error="unauthorized", message=reason), 401
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    # A bearer token is not sent by browsers on their own, so it needs no CSRF token.
    if (
        request.method not in {"GET", "HEAD", "OPTIONS"}
        and bearer is None
        and not getattr(view, "_opsloop_csrf_exempt", False)
    ):
        csrf.protect()
    return None
