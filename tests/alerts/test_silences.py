"""Silences: Alertmanager matcher semantics, validation messages, expiry."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts.errors import SilenceError
from alerts.silences import (
    SilenceState,
    active_silences,
    create_silence,
    expire_silence,
    matches,
    silence_for,
    silence_state,
    validate_matchers,
)

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def m(name, value, is_regex=False, is_equal=True):
    return {"name": name, "value": value, "isRegex": is_regex, "isEqual": is_equal}


def test_regex_matchers_are_anchored_at_both_ends():
    assert matches([m("job", "api.*", True)], {"job": "api-eu"})
    assert not matches([m("job", "api", True)], {"job": "my-api"})
    assert not matches([m("job", "api", True)], {"job": "api\n"})
    assert matches([m("job", "api|web", True)], {"job": "web"})


def test_is_equal_false_negates_and_missing_labels_are_empty():
    assert matches([m("env", "prod", is_equal=False)], {"env": "dev"})
    assert not matches([m("env", "prod", is_equal=False)], {"env": "prod"})
    assert matches([m("env", "", is_equal=True)], {"job": "x"})
    assert matches([m("env", "prod", True, False)], {})


def test_every_matcher_must_match():
    matchers = [m("alertname", "Down"), m("job", "api")]
    assert matches(matchers, {"alertname": "Down", "job": "api"})
    assert not matches(matchers, {"alertname": "Down", "job": "web"})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "non-empty list"),
        ("job=api", "non-empty list"),
        ([{"name": "1bad", "value": "x"}], r"matchers\[0\].name"),
        ([{"name": "job"}], r"matchers\[0\].value: must be a string"),
        ([m("job", "(", True)], r"matchers\[0\].value: '\(' is not a valid regex"),
        ([{"name": "job", "value": "x", "isRegex": "yes"}], r"isRegex: must be true or false"),
        ([m("job", ".*", True)], "must not match the empty string"),
    ],
)
def test_bad_matchers_are_refused_naming_the_place(raw, message):
    with pytest.raises(SilenceError, match=message):
        validate_matchers(raw)


def test_a_silence_mutes_while_active_and_expiring_ends_it(session):
    silence = create_silence(
        session,
        matchers=[m("service", "checkout")],
        starts_at=T0,
        ends_at=T0 + timedelta(hours=2),
        created_by="alice",
        comment="deploy",
        now=T0,
    )
    session.commit()
    labels = {"alertname": "Down", "service": "checkout"}
    found = silence_for(labels, active_silences(session, T0 + timedelta(minutes=1)))
    assert found is not None and found.id == silence.id
    assert silence_for({"service": "cart"}, active_silences(session, T0)) is None
    assert active_silences(session, T0 + timedelta(hours=3)) == []
    expire_silence(session, silence.id, T0 + timedelta(minutes=10))
    session.commit()
    assert active_silences(session, T0 + timedelta(minutes=11)) == []
    assert silence_state(silence, T0 + timedelta(minutes=11)) is SilenceState.EXPIRED


def test_a_silence_needs_a_future_end_a_creator_and_a_comment(session):
    base = dict(matchers=[m("job", "api")], created_by="a", comment="c", now=T0)
    with pytest.raises(SilenceError, match="endsAt: must be after startsAt"):
        create_silence(session, starts_at=T0, ends_at=T0, **base)
    with pytest.raises(SilenceError, match="endsAt: must be in the future"):
        create_silence(
            session, starts_at=T0 - timedelta(hours=2), ends_at=T0 - timedelta(hours=1), **base
        )
    with pytest.raises(SilenceError, match="comment"):
        create_silence(
            session, starts_at=T0, ends_at=T0 + timedelta(hours=1), **{**base, "comment": " "}
        )


def test_a_future_silence_is_pending(session):
    silence = create_silence(
        session,
        matchers=[m("job", "api")],
        starts_at=T0 + timedelta(hours=1),
        ends_at=T0 + timedelta(hours=2),
        created_by="a",
        comment="window",
        now=T0,
    )
    assert silence_state(silence, T0) is SilenceState.PENDING
    assert active_silences(session, T0) == []
