"""Who is asking: sessions (Flask-Login) and bearer tokens; default-deny route guard; CSRF.

Verified bearer tokens are remembered per process for TOKEN_CACHE_TTL_S, keyed by the
token's SHA-256 digest (the clear text is never kept): busy webhook senders present the
same token on every request, and looking it up each time cost a database round trip and
an ORM session. The price: a token deleted from the database keeps working for up to
TOKEN_CACHE_TTL_S in each web process that saw it recently.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from core.accounts import TOKEN_TOUCH_INTERVAL_S, touch_token, verify_token
from core.clock import as_utc
from core.db import reading, session_scope
from core.errors import AuthError
from core.models import Role, Scope, User
from core.runtime import Runtime
from web.state import db

F = TypeVar("F", bound=Callable[..., Any])

login_manager = LoginManager()
csrf = CSRFProtect()

_SCOPE_ROLE = {Scope.READ: Role.VIEWER, Scope.WRITE: Role.EDITOR, Scope.ADMIN: Role.ADMIN}
TOKEN_CACHE_TTL_S = 30.0
TOKEN_CACHE_MAX_ENTRIES = 1024


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


@dataclass
class _KnownToken:
    """A verified token as the cache keeps it: who it is and when its use was last written."""

    principal: Principal
    token_id: int
    last_used_at: datetime | None
    verified_s: float  # TokenCache.clock() at the database check


class TokenCache:
    """Verified tokens of this process by SHA-256 digest, each trusted for TOKEN_CACHE_TTL_S."""

    def __init__(self, ttl_s: float = TOKEN_CACHE_TTL_S) -> None:
        self.ttl_s = ttl_s
        self.clock: Callable[[], float] = time.monotonic  # seconds; tests move it
        self._known: dict[str, _KnownToken] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> _KnownToken | None:
        known = self._known.get(digest)
        if known is None or self.clock() - known.verified_s >= self.ttl_s:
            return None
        return known

    def put(self, digest: str, known: _KnownToken) -> None:
        with self._lock:
            if len(self._known) >= TOKEN_CACHE_MAX_ENTRIES:
                self._known.clear()  # many distinct tokens: start over rather than grow
            self._known[digest] = known

    def touch_due(self, known: _KnownToken, now: datetime) -> bool:
        """True for one caller per TOKEN_TOUCH_INTERVAL_S: that one writes last_used_at."""
        with self._lock:
            last = known.last_used_at
            if last is not None and (now - last).total_seconds() < TOKEN_TOUCH_INTERVAL_S:
                return False
            known.last_used_at = now
            return True


def token_cache(app: Flask) -> TokenCache:
    cache: TokenCache = app.extensions.setdefault("opsloop_token_cache", TokenCache())
    return cache


def _bearer_principal() -> Principal | None:
    try:
        return bearer_principal(current_app, request.headers.get("Authorization", ""))
    except AuthError as exc:
        g.auth_error = str(exc)
        return None


def bearer_principal(app: Flask, header: str) -> Principal | None:
    """Who an `Authorization: Bearer` header names (None: not a bearer header); AuthError
    when its token does not verify. Needs no request context (web.intake_path calls it)."""
    if not header.lower().startswith("bearer "):
        return None
    clear = header[7:].strip()
    cache = token_cache(app)
    digest = hashlib.sha256(clear.encode()).hexdigest()
    known = cache.get(digest)
    rt: Runtime = app.extensions["opsloop"]
    if known is None:
        with Session(reading(rt.engine)) as session:
            token = verify_token(session, clear)
        role = max((_SCOPE_ROLE[s] for s in token.scope_set), key=lambda r: r.rank)
        last = as_utc(token.last_used_at) if token.last_used_at is not None else None
        who = Principal(kind="token", name=token.name, role=role)
        known = _KnownToken(who, token.id or 0, last, cache.clock())
        cache.put(digest, known)
    now = rt.now()
    if cache.touch_due(known, now):
        try:
            with session_scope(rt.engine) as session:
                touch_token(session, known.token_id, now)
        except OperationalError:
            pass  # only the last-used time was being written: never fail the request for it
    return known.principal


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
