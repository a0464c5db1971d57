import pytest
from sqlmodel import select

from core.accounts import (
    authenticate,
    create_token,
    create_user,
    touch_due,
    touch_token,
    verify_token,
)
from core.clock import utcnow
from core.errors import AuthError
from core.models import ApiToken, Role, Scope, User


def test_passwords_are_stored_hashed_and_checked(session):
    create_user(session, "bob", "s3cret-pass", Role.EDITOR, utcnow())
    session.commit()
    stored = session.exec(select(User)).one()
    assert "s3cret-pass" not in stored.password_hash
    assert authenticate(session, "bob", "s3cret-pass", utcnow()).name == "bob"
    with pytest.raises(AuthError, match="wrong user name or password"):
        authenticate(session, "bob", "wrong-pass", utcnow())
    with pytest.raises(AuthError, match="wrong user name or password"):
        authenticate(session, "nobody", "s3cret-pass", utcnow())


def test_duplicate_users_and_short_passwords_are_refused(session):
    create_user(session, "bob", "s3cret-pass", Role.VIEWER, utcnow())
    with pytest.raises(AuthError, match="already exists"):
        create_user(session, "bob", "other-pass", Role.VIEWER, utcnow())
    with pytest.raises(AuthError, match="at least 8"):
        create_user(session, "carol", "short", Role.VIEWER, utcnow())


def test_tokens_are_stored_hashed_and_verified(session):
    clear = create_token(session, "ci", [Scope.WRITE], utcnow())
    session.commit()
    stored = session.exec(select(ApiToken)).one()
    assert clear not in (stored.token_hash, stored.prefix)
    assert verify_token(session, clear).scope_set == {Scope.WRITE}
    with pytest.raises(AuthError):
        verify_token(session, clear + "x")
    with pytest.raises(AuthError, match="not an opsloop API token"):
        verify_token(session, "Basic abc")


def test_roles_are_ordered():
    assert Role.ADMIN.allows(Role.EDITOR)
    assert Role.EDITOR.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.EDITOR)


def test_token_use_is_recorded_at_most_once_a_minute(session):
    from datetime import timedelta

    clear = create_token(session, "ci", [Scope.READ], utcnow())
    session.commit()
    first = utcnow()
    token = verify_token(session, clear)
    assert touch_due(token, first)
    touch_token(session, token.id, first)
    session.commit()
    session.expire_all()
    token = verify_token(session, clear)
    assert token.last_used_at == first
    assert not touch_due(token, first + timedelta(seconds=30))
    assert touch_due(token, first + timedelta(seconds=61))
