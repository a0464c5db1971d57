"""Users and API tokens: creating them, checking passwords and bearer tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from core.clock import as_utc
from core.errors import AuthError
from core.models import ApiToken, Role, Scope, User

TOKEN_PREFIX = "opl_"
TOKEN_TOUCH_INTERVAL_S = 60
MIN_PASSWORD_LENGTH = 8
# A valid hash to compare against when the user does not exist, so that timing does not
# tell which user names exist.
_DUMMY_HASH = generate_password_hash("opsloop-timing-equaliser")


def create_user(session: Session, name: str, password: str, role: Role, now: datetime) -> User:
    name = name.strip()
    if not name or len(name) > 80:
        raise AuthError("user name must be 1 to 80 characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise AuthError(f"user {name!r} already exists")
    user = User(
        name=name, password_hash=generate_password_hash(password), role=role.value, created_at=now
    )
    session.add(user)
    session.flush()
    return user


def count_users(session: Session) -> int:
    return len(session.exec(select(User.id)).all())


def authenticate(session: Session, name: str, password: str, now: datetime) -> User:
    user = session.exec(select(User).where(User.name == name.strip())).first()
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        raise AuthError("wrong user name or password")
    if not check_password_hash(user.password_hash, password):
        raise AuthError("wrong user name or password")
    user.last_login_at = now
    session.add(user)
    return user


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def create_token(session: Session, name: str, scopes: Iterable[Scope], now: datetime) -> str:
    """Store a new token (hashed) and return its clear text, which is never stored."""
    name = name.strip()
    if not name or len(name) > 80:
        raise AuthError("token name must be 1 to 80 characters")
    if session.exec(select(ApiToken).where(ApiToken.name == name)).first() is not None:
        raise AuthError(f"token {name!r} already exists")
    scope_list = sorted({Scope(s) for s in scopes}) or [Scope.READ]
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        token_hash=_hash_token(clear),
        prefix=clear[:10],
        scopes=",".join(s.value for s in scope_list),
        created_at=now,
    )
    session.add(token)
    session.flush()
    return clear


def verify_token(session: Session, clear: str) -> ApiToken:
    """The stored token for a bearer value (read only); raises AuthError when unknown."""
    if not clear.startswith(TOKEN_PREFIX):
        raise AuthError("not an opsloop API token")
    digest = _hash_token(clear)
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    # the lookup is by a SHA-256 digest, so comparing again in constant time is belt and braces
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        raise AuthError("unknown API token")
    return token


def touch_due(token: ApiToken, now: datetime) -> bool:
    """Record use at most once a minute: a write per API call would serialise busy intake."""
    last = token.last_used_at
    return last is None or (now - as_utc(last)).total_seconds() >= TOKEN_TOUCH_INTERVAL_S


def touch_token(session: Session, token_id: int, now: datetime) -> None:
    table = ApiToken.__table__  # type: ignore[attr-defined]
    session.execute(update(table).where(table.c.id == token_id).values(last_used_at=now))


def _hash_token(clear: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no stretching needed).
    return hashlib.sha256(clear.encode()).hexdigest()
