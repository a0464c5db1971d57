"""Triage: items from alerts, SLO burn and feedback themes; running it twice adds nothing."""

from datetime import timedelta

from sqlmodel import select

from plan.config import PlanConfig
from plan.items import edit_item, ranked_items
from plan.models import Evidence, Item
from plan.triage import SloObservation, burn_level, feedback_kind, theme_trigger, triage
from tests.plan.conftest import NOW


def _items(session):
    return session.exec(select(Item).order_by(Item.id)).all()


def _evidence(session, item_id):
    return session.exec(select(Evidence).where(Evidence.item_id == item_id)).all()


def test_a_firing_alert_group_opens_one_incident_item_with_each_alert_as_evidence(
    session, cfg, make_alert
):
    a1 = make_alert("HighErrorRate", "webshop")
    a2 = make_alert("HighErrorRate", "webshop")
    make_alert("HighErrorRate", "webshop", state="pending")
    make_alert("DiskFull", "billing", severity="warning")
    result = triage(session, cfg, [], NOW)
    session.commit()
    items = _items(session)
    assert [(i.kind, i.service, i.title) for i in items] == [
        ("incident", "billing", "billing: DiskFull"),
        ("incident", "webshop", "webshop: HighErrorRate"),
    ]
    webshop = items[1]
    refs = sorted(e.ref_id for e in _evidence(session, webshop.id))
    assert refs == sorted([str(a1.id), str(a2.id)])
    assert {e.ref_key for e in _evidence(session, webshop.id)} == {a1.fingerprint, a2.fingerprint}
    assert result.evidence_added == 3


def test_triage_twice_adds_nothing(session, cfg, make_alert, make_theme, make_feedback):
    make_alert()
    theme = make_theme()
    for n in range(5):
        make_feedback(theme=theme, email=f"u{n}@example.com")
    burning = SloObservation("webshop", "availability", 0.999, {"1h": 20.0, "5m": 18.0})
    first = triage(session, cfg, [burning], NOW)
    session.commit()
    counts = (len(_items(session)), len(session.exec(select(Evidence)).all()))
    second = triage(session, cfg, [burning], NOW + timedelta(minutes=1))
    session.commit()
    assert first.evidence_added == 1 + 5 + 1
    assert second.evidence_added == 0
    assert (len(_items(session)), len(session.exec(select(Evidence)).all())) == counts


def test_a_burning_slo_opens_a_reliability_item_and_refreshes_its_burn_evidence(session, cfg):
    obs = SloObservation(
        "webshop", "availability", 0.999, {"1h": 15.0, "5m": 16.0}, 0.4, 0.015, 10_000
    )
    triage(session, cfg, [obs], NOW)
    triage(session, cfg, [SloObservation("webshop", "availability", 0.999, {"1h": 1.0})], NOW)
    session.commit()
    (item,) = _items(session)
    assert (item.kind, item.service) == ("reliability", "webshop")
    (burn,) = _evidence(session, item.id)
    assert burn.kind == "slo_burn" and burn.severity == "page"
    assert burn.affected_share == 0.015 and burn.affected_requests == 150
    later = NOW + timedelta(minutes=5)
    triage(session, cfg, [SloObservation("webshop", "availability", 0.999, {}, 0.0)], later)
    session.commit()
    session.expire_all()
    (burn,) = _evidence(session, item.id)
    assert burn.severity == "exhausted" and burn.observed_at == later


def test_a_large_theme_opens_a_bug_with_distinct_people_and_spam_left_out(
    session, cfg, make_theme, make_feedback
):
    theme = make_theme("checkout times out")
    small = make_theme("dark mode please")
    for n in range(4):
        make_feedback(theme=theme, email=f"u{n}@example.com")
    make_feedback(theme=theme, email="U0@example.com")  # same person again
    make_feedback(theme=theme, spam=True)
    make_feedback("please add dark mode", theme=small, sentiment=0.5)
    praise = make_theme("great selection")
    for n in range(6):
        make_feedback("Great selection, love it", theme=praise, sentiment=0.8, email=f"f{n}@x.org")
    triage(session, cfg, [], NOW)
    session.commit()
    (item,) = _items(session)
    assert (item.kind, item.service, item.title) == ("bug", "webshop", "checkout times out")
    ranked = ranked_items(session, cfg, NOW)
    assert ranked[0].score.terms[0].inputs["people"] == 4
    assert len(_evidence(session, item.id)) == 5


def test_a_growing_theme_opens_a_feature_item(session, make_theme, make_feedback):
    cfg = PlanConfig(theme_min_size=50, theme_growth=2.0, theme_growth_min_posts=3)
    theme = make_theme("export to csv", service=None)
    make_feedback(
        "export to csv would be nice",
        theme=theme,
        sentiment=0.4,
        created_at=NOW - timedelta(days=10),
    )
    for n in range(3):
        make_feedback(f"please add a csv export {n}", theme=theme, sentiment=0.3)
    triage(session, cfg, [], NOW)
    session.commit()
    (item,) = _items(session)
    assert item.kind == "feature" and item.service is None


def test_a_declined_item_is_not_reopened_but_a_verified_one_is(session, cfg, make_alert):
    make_alert()
    triage(session, cfg, [], NOW)
    (item,) = _items(session)
    edit_item(session, item.id, {"status": "declined"}, cfg, NOW)
    make_alert()
    triage(session, cfg, [], NOW)
    session.commit()
    assert len(_items(session)) == 1
    edit_item(session, item.id, {"status": "verified"}, cfg, NOW)
    triage(session, cfg, [], NOW)
    session.commit()
    items = _items(session)
    assert len(items) == 2 and items[1].status == "new"


def test_an_slo_burn_alert_feeds_the_slo_item_and_a_page_burn_ranks_it_first(
    session, cfg, make_alert, make_theme, make_feedback
):
    theme = make_theme()
    for n in range(30):
        make_feedback(theme=theme, email=f"u{n}@example.com")
    make_alert("SLOBurnAvailability", severity="page", extra_labels={"slo": "availability"})
    triage(session, cfg, [], NOW)
    session.commit()
    ranked = ranked_items(session, cfg, NOW)
    assert ranked[0].item.kind == "reliability"
    assert ranked[0].score.policy["reason"] == "page-level burn firing"
    assert ranked[0].score.score < ranked[1].score.score


def test_the_pure_decisions():
    assert burn_level({"1h": 14.4, "5m": 14.4}, None) == "page"
    assert burn_level({"6h": 6.5, "30m": 7.0}, 0.5) == "page"
    assert burn_level({"1d": 3.1, "2h": 3.5}, 0.5) == "ticket"
    assert burn_level({"1h": 20.0, "5m": 2.0}, 0.5) is None
    assert burn_level({}, -0.1) == "exhausted"
    cfg = PlanConfig(theme_min_size=5, theme_growth=2.0, theme_growth_min_posts=3)
    assert theme_trigger(5, 0, 0, cfg)
    assert theme_trigger(4, 4, 2, cfg)
    assert theme_trigger(4, 4, 3, cfg) is None
    assert theme_trigger(4, 4, 0, cfg) is None  # new, not grown: the size rule decides
    assert feedback_kind(["negative", "positive"], 0).value == "bug"
    assert feedback_kind(["positive", "neutral", "neutral"], 0).value == "feature"
    assert feedback_kind(["positive", "positive", "neutral"], 0, ["great shop"] * 3) is None
    assert feedback_kind(["positive"], 1).value == "bug"
    wishes = ["Can you add Apple Pay?", "Please add Apple Pay", "pay page times out"]
    assert feedback_kind(["negative"] * 3, 0, wishes).value == "feature"
    assert (
        feedback_kind(["negative"] * 3, 0, ["times out", "broken", "please add x"]).value == "bug"
    )
