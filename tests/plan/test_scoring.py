"""Scoring: the formula's terms, weights that re-rank, decay, and the error-budget policy."""

from dataclasses import replace
from datetime import timedelta

from plan.config import PlanConfig, Weights
from plan.scoring import BudgetState, EvidenceFacts, ItemFacts, rank, score_item
from tests.plan.conftest import NOW


def _item(item_id: int, kind: str = "bug", service: str = "webshop", effort=None) -> ItemFacts:
    return ItemFacts(item_id, kind, service, effort, NOW - timedelta(days=1))


def _posts(n: int, sentiment: float = -0.5) -> list[EvidenceFacts]:
    return [
        EvidenceFacts("feedback", NOW, people=1, reporter=f"p{i}", sentiment=sentiment)
        for i in range(n)
    ]


def _alert(severity: str = "critical", share: float | None = None) -> EvidenceFacts:
    return EvidenceFacts("alert", NOW, severity=severity, affected_share=share)


def test_the_score_is_the_product_of_its_terms_and_each_term_shows_inputs_and_weight():
    cfg = PlanConfig()
    s = score_item(_item(1, effort=2.0), [*_posts(3), _alert()], cfg, {}, NOW)
    terms = {t.name: t for t in s.terms}
    assert set(terms) == {"reach", "impact", "confidence", "effort", "decay"}
    product = (terms["reach"].factor * terms["impact"].factor * terms["confidence"].factor) / terms[
        "effort"
    ].factor
    assert abs(s.score - product * terms["decay"].factor) < 1e-9
    assert terms["reach"].inputs["people"] == 3
    assert terms["impact"].inputs["worst_severity"] == "critical"
    assert terms["confidence"].inputs["kinds"] == ["alert", "feedback"]
    assert terms["effort"].inputs["estimate"] == 2.0
    assert all(t.weight == 1.0 for t in s.terms)
    assert s.breakdown()["terms"][0]["name"] == "reach"


def test_distinct_people_counts_a_reporter_once():
    cfg = PlanConfig()
    same = [EvidenceFacts("feedback", NOW, people=1, reporter="x") for _ in range(5)]
    s = score_item(_item(1), same, cfg, {}, NOW)
    assert s.terms[0].inputs["people"] == 1


def test_changing_the_weights_changes_the_ranking():
    many_mild = _posts(12, sentiment=-0.1)  # reach
    one_severe = [_alert("critical", share=0.02)]  # impact
    items = [(_item(1), many_mild), (_item(2, kind="incident"), one_severe)]
    reach_heavy = PlanConfig(weights=Weights(reach=2.0, impact=0.5))
    impact_heavy = PlanConfig(weights=Weights(reach=0.5, impact=2.0))
    by_reach = rank(score_item(i, e, reach_heavy, {}, NOW) for i, e in items)
    by_impact = rank(score_item(i, e, impact_heavy, {}, NOW) for i, e in items)
    assert [s.item_id for s in by_reach] == [1, 2]
    assert [s.item_id for s in by_impact] == [2, 1]


def test_a_larger_effort_lowers_the_score():
    cfg = PlanConfig()
    cheap = score_item(_item(1, effort=0.5), _posts(3), cfg, {}, NOW)
    costly = score_item(_item(2, effort=5.0), _posts(3), cfg, {}, NOW)
    assert cheap.score == costly.score * 10


def test_old_evidence_decays_by_half_per_half_life():
    cfg = PlanConfig(half_life_s=7 * 86400)
    fresh = score_item(_item(1), _posts(2), cfg, {}, NOW)
    old = score_item(_item(1), _posts(2), cfg, {}, NOW + timedelta(days=7))
    assert abs(old.score - fresh.score / 2) < 1e-9


def test_the_error_budget_policy_ranks_reliability_items_of_the_service_first():
    cfg = PlanConfig()
    big_feature = (_item(1, kind="feature"), _posts(40))
    small_reliability = (
        _item(2, kind="reliability"),
        [EvidenceFacts("slo_burn", NOW, severity="ticket")],
    )
    other_service = (_item(3, kind="incident", service="billing"), [_alert("warning")])
    budgets = {"webshop": BudgetState("webshop", exhausted=True, page_burn=False, observed_at=NOW)}
    scores = [
        score_item(i, e, cfg, budgets, NOW)
        for i, e in (big_feature, small_reliability, other_service)
    ]
    ranked = rank(scores)
    assert ranked[0].item_id == 2
    assert ranked[0].policy is not None and ranked[0].policy["reason"] == "error budget exhausted"
    assert ranked[0].score < ranked[1].score  # first by policy, not by score
    assert next(s for s in scores if s.item_id == 3).policy is None
    assert (
        rank(score_item(i, e, cfg, {}, NOW) for i, e in (big_feature, small_reliability))[0].item_id
        == 1
    )


def test_a_stale_budget_state_no_longer_applies():
    cfg = PlanConfig(policy_freshness_s=600)
    budgets = {"webshop": BudgetState("webshop", False, True, NOW - timedelta(hours=1))}
    s = score_item(_item(2, kind="reliability"), [], cfg, budgets, NOW)
    assert s.policy is None and not s.ranked_first


def test_weight_zero_removes_a_term():
    cfg = PlanConfig(weights=replace(Weights(), effort=0.0))
    a = score_item(_item(1, effort=0.5), _posts(2), cfg, {}, NOW)
    b = score_item(_item(2, effort=8.0), _posts(2), cfg, {}, NOW)
    assert a.score == b.score
