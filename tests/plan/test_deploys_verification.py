"""Deploys release items; after the watch window they are verified or regressed (explicit now)."""

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from plan.config import PlanConfig
from plan.deploys import detect_regressions, record_deploy, regression_verdict, same_deploy
from plan.errors import DeployError
from plan.items import create_item, get_item, merge_items
from plan.models import Deploy, Evidence
from plan.triage import SloObservation, triage
from plan.verification import Decision, SignalCheck, decide, verify_due
from tests.plan.conftest import NOW

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


def _alert_item(session, cfg, make_alert, at=NOW):
    alert = make_alert(fired_at=at)
    triage(session, cfg, [], at)
    session.commit()
    (item_id,) = {e.item_id for e in session.exec(select(Evidence))}
    return alert, get_item(session, item_id)


def test_a_deploy_naming_items_releases_them_and_a_retry_changes_nothing(session, cfg):
    a = create_item(session, title="fix checkout", kind="bug", service="webshop", now=NOW)
    b = create_item(session, title="faster search", kind="feature", service="webshop", now=NOW)
    first = record_deploy(
        session, service="webshop", version="abc123", items=[a.id, b.id], cfg=cfg, now=NOW
    )
    session.commit()
    # A CI retry: `at` omitted, so it is the time of the retry, two minutes later.
    again = record_deploy(
        session, service="webshop", version="abc123", items=[a.id], cfg=cfg, now=NOW + MINUTE * 2
    )
    session.commit()
    assert first.created and not again.created
    assert first.released == [a.id, b.id] and again.released == []
    assert len(session.exec(select(Deploy)).all()) == 1
    item = get_item(session, a.id)
    assert item.status == "released" and item.released_in == first.deploy.id
    assert item.released_at == NOW and item.verify_after == NOW + timedelta(days=7)
    assert [e.kind for e in session.exec(select(Evidence).where(Evidence.item_id == a.id))] == [
        "deploy"
    ]


def test_a_rollback_to_an_older_version_is_a_deploy_of_its_own(session, cfg):
    def post(version, at, items=None):
        done = record_deploy(
            session, service="webshop", version=version, at=at, items=items, cfg=cfg, now=at
        )
        session.commit()
        return done

    fix = create_item(session, title="fix checkout", kind="bug", service="webshop", now=NOW)
    v1 = post("v1", NOW)
    v2 = post("v2", NOW + MINUTE * 5, items=[fix.id])
    rollback = post("v1", NOW + MINUTE * 10)
    retry = post("v1", NOW + MINUTE * 11)  # the rollback's CI job retries its POST
    assert [x.created for x in (v1, v2, rollback, retry)] == [True, True, True, False]
    assert rollback.deploy.id not in {v1.deploy.id, v2.deploy.id}
    assert retry.deploy.id == rollback.deploy.id
    stored = session.exec(select(Deploy).order_by(Deploy.at)).all()
    assert [(d.version, d.at) for d in stored] == [
        ("v1", NOW),
        ("v2", NOW + MINUTE * 5),
        ("v1", NOW + MINUTE * 10),
    ]


def test_the_same_version_deployed_again_after_the_retry_window_is_a_new_deploy(session, cfg):
    first = record_deploy(session, service="webshop", version="v1", cfg=cfg, now=NOW)
    later = record_deploy(session, service="webshop", version="v1", cfg=cfg, now=NOW + DAY)
    other = record_deploy(session, service="billing", version="v1", cfg=cfg, now=NOW)
    session.commit()
    assert first.created and later.created and other.created
    assert len({first.deploy.id, later.deploy.id, other.deploy.id}) == 3


def test_same_deploy_matches_the_nearest_deploy_of_the_service():
    v1 = Deploy(id=1, service="s", version="v1", at=NOW, created_at=NOW)
    v2 = Deploy(id=2, service="s", version="v2", at=NOW + MINUTE * 5, created_at=NOW)
    assert same_deploy([v1, v2], "v1", NOW + MINUTE) is v1
    assert same_deploy([v1, v2], "v1", NOW - MINUTE) is v1  # a retry that sends `at` earlier
    assert same_deploy([v1, v2], "v1", NOW + MINUTE * 4) is None  # nearer to v2: a rollback
    assert same_deploy([v1, v2], "v2", NOW + MINUTE * 6) is v2
    assert same_deploy([v1], "v1", NOW + timedelta(hours=2)) is None


def _lock_waiters(engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'advisory'")
            ).scalar()
        )


def test_two_retries_racing_record_one_deploy(engine, cfg):
    """The second POST arrives while the first one's transaction is still open."""
    outcome: list = []

    def second() -> None:
        with Session(engine, expire_on_commit=False) as s:
            outcome.append(
                record_deploy(s, service="webshop", version="v9", cfg=cfg, now=NOW + MINUTE)
            )
            s.commit()

    with Session(engine, expire_on_commit=False) as first_session:
        first = record_deploy(first_session, service="webshop", version="v9", cfg=cfg, now=NOW)
        racer = threading.Thread(target=second)
        racer.start()
        # Let the second POST reach its check before the first commits: it either waits
        # for the first (right) or finishes on its own (a duplicate).
        for _ in range(100):
            racer.join(timeout=0.05)
            if not racer.is_alive():
                break
            if engine.dialect.name == "postgresql" and _lock_waiters(engine):
                break
        first_session.commit()
    racer.join(timeout=30)
    assert first.created and not outcome[0].created
    assert outcome[0].deploy.id == first.deploy.id
    with Session(engine) as s:
        assert len(s.exec(select(Deploy)).all()) == 1


def test_a_deploy_with_bad_fields_is_refused_with_the_reason(session, cfg):
    item = create_item(session, title="x", kind="task", now=NOW)
    other = create_item(session, title="y", kind="task", now=NOW)
    merge_items(session, item.id, [other.id], NOW)
    cases = [
        ({"service": "", "version": "1"}, "service is required"),
        ({"service": "w", "version": None}, "version is required"),
        ({"service": "w", "version": "1", "items": [99999]}, "unknown item id(s): 99999"),
        ({"service": "w", "version": "1", "items": ["7"]}, "positive integer ids"),
        ({"service": "w", "version": "1", "items": [other.id]}, "merged into others"),
        ({"service": "w", "version": "1", "url": "ftp://x"}, "http(s) URL"),
    ]
    for fields, message in cases:
        with pytest.raises(DeployError, match=message.replace("(", r"\(").replace(")", r"\)")):
            record_deploy(session, cfg=cfg, now=NOW, **fields)


def test_released_then_verified_when_the_alert_no_longer_fires(session, cfg, make_alert):
    alert, item = _alert_item(session, cfg, make_alert, at=NOW - DAY)
    record_deploy(session, service="webshop", version="v2", items=[item.id], cfg=cfg, now=NOW)
    alert.state = "resolved"
    session.add(alert)
    session.commit()
    assert verify_due(session, cfg, NOW + 6 * DAY) == {
        "verified": 0,
        "regressed": 0,
        "undecided": 0,
    }
    counts = verify_due(session, cfg, NOW + 7 * DAY)
    session.commit()
    item = get_item(session, item.id)
    assert counts["verified"] == 1 and item.status == "verified"
    (check,) = item.verdict_data["checks"]
    assert (check["signal"], check["before"], check["after"], check["recovered"]) == (
        "alert",
        1,
        0,
        True,
    )


def test_released_then_regressed_when_the_alert_still_fires(session, cfg, make_alert):
    _alert, item = _alert_item(session, cfg, make_alert, at=NOW - DAY)
    record_deploy(session, service="webshop", version="v2", items=[item.id], cfg=cfg, now=NOW)
    make_alert(fired_at=NOW + 2 * DAY)  # fires again after the release
    triage(session, cfg, [], NOW + 2 * DAY)
    verify_due(session, cfg, NOW + 8 * DAY)
    session.commit()
    item = get_item(session, item.id)
    assert item.status == "regressed"
    (check,) = item.verdict_data["checks"]
    assert (check["before"], check["after"], check["recovered"]) == (1, 1, False)


def test_a_theme_item_is_verified_when_its_volume_falls_by_the_share(
    session, make_theme, make_feedback
):
    cfg = PlanConfig(theme_min_size=3, volume_drop_share=0.5)
    theme = make_theme()
    for n in range(4):
        make_feedback(theme=theme, email=f"u{n}@x.org", created_at=NOW - DAY * (n + 1))
    triage(session, cfg, [], NOW)
    (item_id,) = {e.item_id for e in session.exec(select(Evidence))}
    record_deploy(session, service="webshop", version="v3", items=[item_id], cfg=cfg, now=NOW)
    make_feedback(theme=theme, email="late@x.org", created_at=NOW + DAY)
    make_feedback(theme=theme, email="later@x.org", created_at=NOW + 2 * DAY)
    triage(session, cfg, [], NOW + 3 * DAY)
    verify_due(session, cfg, NOW + 7 * DAY)
    item = get_item(session, item_id)
    assert item.status == "verified"
    (check,) = item.verdict_data["checks"]
    assert (check["before"], check["after"]) == (4, 2)


def test_an_slo_item_uses_the_error_ratio_probe(session, cfg):
    triage(
        session,
        cfg,
        [SloObservation("webshop", "availability", 0.999, {"1h": 20, "5m": 20})],
        NOW - DAY,
    )
    (item_id,) = {e.item_id for e in session.exec(select(Evidence))}
    record_deploy(session, service="webshop", version="v5", items=[item_id], cfg=cfg, now=NOW)
    ratios = {"before": 0.02, "after": 0.0004}

    def probe(service, slo, start, end):
        assert (service, slo) == ("webshop", "availability")
        return (ratios["after"] if start >= NOW else ratios["before"], 0.999)

    verify_due(session, cfg, NOW + 7 * DAY, probe)
    item = get_item(session, item_id)
    (check,) = item.verdict_data["checks"]
    assert item.status == "verified" and (check["before"], check["after"]) == (0.02, 0.0004)


def test_an_item_without_signal_stays_released_and_says_why(session, cfg):
    item = create_item(session, title="docs", kind="task", now=NOW)
    record_deploy(session, service="docs", version="1", items=[item.id], cfg=cfg, now=NOW)
    counts = verify_due(session, cfg, NOW + 8 * DAY)
    item = get_item(session, item.id)
    assert counts["undecided"] == 1 and item.status == "released"
    assert "decide by hand" in item.verdict_data["note"]


def test_a_spike_of_alerts_after_a_deploy_flags_it_and_its_items(session, cfg, make_alert):
    item = create_item(session, title="new cart", kind="feature", service="webshop", now=NOW)
    make_alert(fired_at=NOW - timedelta(minutes=30))
    record_deploy(session, service="webshop", version="v6", items=[item.id], cfg=cfg, now=NOW)
    quiet = record_deploy(session, service="billing", version="b1", cfg=cfg, now=NOW)
    for minutes in (5, 10, 20):
        make_alert(fired_at=NOW + timedelta(minutes=minutes))
    flagged = detect_regressions(session, cfg, NOW + timedelta(minutes=30))
    session.commit()
    assert [d.version for d in flagged] == ["v6"]
    assert "alerts: 3 after vs 1 before" in flagged[0].regression_note
    assert "v6" in get_item(session, item.id).regression_note
    assert not session.get(Deploy, quiet.deploy.id).regression_flag
    assert detect_regressions(session, cfg, NOW + timedelta(minutes=40)) == []


def test_negative_feedback_after_a_deploy_is_a_possible_regression(session, cfg, make_feedback):
    record_deploy(session, service="webshop", version="v7", cfg=cfg, now=NOW)
    for minutes in (1, 2, 3):
        make_feedback(created_at=NOW + timedelta(minutes=minutes))
    make_feedback(created_at=NOW + timedelta(minutes=4), sentiment=0.8)
    (deploy,) = detect_regressions(session, cfg, NOW + timedelta(minutes=10))
    assert "negative feedback posts: 3 after vs 0 before" in deploy.regression_note


def test_the_pure_decisions():
    cfg = PlanConfig(regression_min_events=3, regression_factor=2.0)
    assert regression_verdict(2, 3, 0, 0, cfg) is None
    assert regression_verdict(1, 3, 0, 0, cfg)
    ok = SignalCheck("alert", "f", 1, 0, "", True)
    bad = SignalCheck("theme", "1", 4, 3, "", False)
    assert decide([]) is Decision.UNDECIDED
    assert decide([ok]) is Decision.VERIFIED
    assert decide([ok, bad]) is Decision.REGRESSED
    assert json.dumps([ok.__dict__])
