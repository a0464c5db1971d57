"""Scores that explain themselves: RICE with recency decay and the error-budget policy.

Pure functions: they take the item, its evidence, the weights and `now`, and return the
score together with every term, its inputs and its weight, so the item page can show
exactly how the number came about.

    score = reach^Wr * impact^Wi * confidence^Wc / effort^We * decay

- reach      = 1 + w_people·log2(1 + distinct people) + w_requests·(log10(1 + affected
               requests) + 10·share of requests affected)
- impact     = weighted mean of the worst severity (0.25…3, RICE's scale) and the
               negativity of the feedback (negated VADER compound, 0…1, scaled to 0…3),
               at least 0.25
- confidence = 0.2 + 0.8·weighted mean of amount (evidence count / 10, capped at 1) and
               variety (distinct evidence kinds / 3, capped at 1)
- effort     = the estimate a person set (person-weeks), else the configured default
- decay      = 0.5^(age of the newest evidence / half-life)

The exponents Wr, Wi, Wc, We are the term weights (1 = plain RICE, 0 = ignore the term).
On top, Google's error-budget policy: while a service's budget is exhausted or a
page-level burn fires, its incident and reliability items rank before everything else.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from plan.config import PlanConfig
from plan.models import EvidenceKind, ItemKind

SEVERITY_POINTS: Mapping[str, float] = {
    "critical": 3.0,
    "page": 3.0,
    "exhausted": 3.0,
    "high": 2.0,
    "error": 2.0,
    "warning": 1.5,
    "ticket": 1.5,
    "medium": 1.0,
    "low": 0.5,
    "info": 0.25,
}
AMOUNT_FULL = 10  # this many pieces of evidence give full "amount" confidence
VARIETY_FULL = 3  # this many distinct kinds give full "variety" confidence
CONFIDENCE_FLOOR = 0.2
MIN_EFFORT = 0.1
POLICY_KINDS = frozenset({ItemKind.INCIDENT.value, ItemKind.RELIABILITY.value})


@dataclass(frozen=True)
class EvidenceFacts:
    """What scoring needs of one piece of evidence."""

    kind: str
    observed_at: datetime
    people: int = 0
    reporter: str | None = None
    affected_requests: float | None = None
    affected_share: float | None = None
    severity: str | None = None
    sentiment: float | None = None


@dataclass(frozen=True)
class ItemFacts:
    id: int
    kind: str
    service: str | None
    effort: float | None
    created_at: datetime


@dataclass(frozen=True)
class BudgetState:
    """A service's error-budget situation as last observed."""

    service: str
    exhausted: bool
    page_burn: bool
    observed_at: datetime
    detail: str = ""


@dataclass(frozen=True)
class Term:
    name: str
    value: float
    weight: float
    factor: float  # value ** weight (effort divides)
    inputs: dict[str, Any]
    formula: str


@dataclass(frozen=True)
class Score:
    item_id: int
    score: float
    ranked_first: bool
    terms: list[Term]
    policy: dict[str, Any] | None = None
    formula: str = "reach^Wr * impact^Wi * confidence^Wc / effort^We * decay"

    @property
    def rank_key(self) -> tuple[int, float, int]:
        return (0 if self.ranked_first else 1, -self.score, self.item_id)

    def breakdown(self) -> dict[str, Any]:
        return {
            "formula": self.formula,
            "score": round(self.score, 6),
            "ranked_first": self.ranked_first,
            "policy": self.policy,
            "terms": [asdict(t) for t in self.terms],
        }


def distinct_people(evidence: Iterable[EvidenceFacts]) -> int:
    """People behind the evidence: each reporter once, plus counts that carry no identity."""
    reporters: set[str] = set()
    anonymous = 0
    for e in evidence:
        if e.kind == EvidenceKind.DEPLOY.value:
            continue
        if e.reporter:
            reporters.add(e.reporter)
        else:
            anonymous += e.people
    return len(reporters) + anonymous


def affected_requests(evidence: Iterable[EvidenceFacts]) -> tuple[float, float]:
    """The largest count and the largest share of affected requests among the evidence."""
    count = max((e.affected_requests or 0.0 for e in evidence), default=0.0)
    share = max((e.affected_share or 0.0 for e in evidence), default=0.0)
    return count, min(share, 1.0)


def _mix(parts: Sequence[tuple[float, float]]) -> float:
    total = sum(w for _, w in parts)
    return sum(v * w for v, w in parts) / total if total > 0 else 0.0


def reach_term(evidence: Sequence[EvidenceFacts], cfg: PlanConfig) -> Term:
    w = cfg.weights
    people = distinct_people(evidence)
    count, share = affected_requests(evidence)
    people_pts = math.log2(1 + people)
    requests_pts = math.log10(1 + count) + 10 * share
    value = 1 + w.reach_people * people_pts + w.reach_requests * requests_pts
    return Term(
        "reach",
        value,
        w.reach,
        value**w.reach,
        {
            "people": people,
            "affected_requests": round(count, 3),
            "affected_share": round(share, 6),
            "w_people": w.reach_people,
            "w_requests": w.reach_requests,
        },
        "1 + w_people·log2(1+people) + w_requests·(log10(1+affected_requests) + 10·share)",
    )


def impact_term(evidence: Sequence[EvidenceFacts], cfg: PlanConfig) -> Term:
    w = cfg.weights
    severities = [e.severity for e in evidence if e.severity in SEVERITY_POINTS]
    worst = max(severities, key=lambda s: SEVERITY_POINTS[s or ""], default=None)
    severity_pts = SEVERITY_POINTS[worst] if worst else 0.0
    sentiments = [e.sentiment for e in evidence if e.sentiment is not None]
    negativity = sum(max(0.0, -s) for s in sentiments) / len(sentiments) if sentiments else 0.0
    value = max(
        0.25, _mix([(severity_pts, w.impact_severity), (3 * negativity, w.impact_sentiment)])
    )
    return Term(
        "impact",
        value,
        w.impact,
        value**w.impact,
        {
            "worst_severity": worst,
            "severity_points": severity_pts,
            "negativity": round(negativity, 4),
            "sentiment_samples": len(sentiments),
            "w_severity": w.impact_severity,
            "w_sentiment": w.impact_sentiment,
        },
        "max(0.25, mean_w(severity points, 3·negativity))",
    )


def confidence_term(evidence: Sequence[EvidenceFacts], cfg: PlanConfig) -> Term:
    w = cfg.weights
    signal = [e for e in evidence if e.kind != EvidenceKind.DEPLOY.value]
    kinds = sorted({e.kind for e in signal})
    amount = min(1.0, len(signal) / AMOUNT_FULL)
    variety = min(1.0, len(kinds) / VARIETY_FULL)
    mixed = _mix([(amount, w.confidence_amount), (variety, w.confidence_variety)])
    value = CONFIDENCE_FLOOR + (1 - CONFIDENCE_FLOOR) * mixed
    return Term(
        "confidence",
        value,
        w.confidence,
        value**w.confidence,
        {
            "evidence": len(signal),
            "kinds": kinds,
            "amount": round(amount, 4),
            "variety": round(variety, 4),
            "w_amount": w.confidence_amount,
            "w_variety": w.confidence_variety,
        },
        "0.2 + 0.8·mean_w(min(1, evidence/10), min(1, kinds/3))",
    )


def effort_term(item: ItemFacts, cfg: PlanConfig) -> Term:
    estimated = item.effort is not None
    value = max(MIN_EFFORT, item.effort if item.effort is not None else cfg.default_effort)
    return Term(
        "effort",
        value,
        cfg.weights.effort,
        value**cfg.weights.effort,
        {"estimate": item.effort, "estimated_by_person": estimated, "default": cfg.default_effort},
        "person-weeks (divides the score)",
    )


def decay_term(
    item: ItemFacts, evidence: Sequence[EvidenceFacts], cfg: PlanConfig, now: datetime
) -> Term:
    signal = (e.observed_at for e in evidence if e.kind != EvidenceKind.DEPLOY.value)
    newest = max(signal, default=item.created_at)
    age_s = max(0.0, (now - newest).total_seconds())
    value = 0.5 ** (age_s / cfg.half_life_s)
    return Term(
        "decay",
        value,
        1.0,
        value,
        {
            "newest_evidence_at": newest.isoformat(),
            "age_s": round(age_s),
            "half_life_s": cfg.half_life_s,
        },
        "0.5^(age of newest evidence / half-life)",
    )


def policy_for(
    item: ItemFacts, budgets: Mapping[str, BudgetState], cfg: PlanConfig, now: datetime
) -> dict[str, Any] | None:
    """The error-budget policy's verdict for this item, or None when it does not apply."""
    if item.kind not in POLICY_KINDS or not item.service:
        return None
    state = budgets.get(item.service)
    if state is None or (now - state.observed_at).total_seconds() > cfg.policy_freshness_s:
        return None
    if not (state.exhausted or state.page_burn):
        return None
    reason = "error budget exhausted" if state.exhausted else "page-level burn firing"
    return {
        "rule": "error-budget policy: reliability work first",
        "reason": reason,
        "service": state.service,
        "exhausted": state.exhausted,
        "page_burn": state.page_burn,
        "observed_at": state.observed_at.isoformat(),
        "detail": state.detail,
    }


def score_item(
    item: ItemFacts,
    evidence: Sequence[EvidenceFacts],
    cfg: PlanConfig,
    budgets: Mapping[str, BudgetState],
    now: datetime,
) -> Score:
    reach = reach_term(evidence, cfg)
    impact = impact_term(evidence, cfg)
    confidence = confidence_term(evidence, cfg)
    effort = effort_term(item, cfg)
    decay = decay_term(item, evidence, cfg, now)
    value = reach.factor * impact.factor * confidence.factor / effort.factor * decay.factor
    policy = policy_for(item, budgets, cfg, now)
    return Score(
        item_id=item.id,
        score=value,
        ranked_first=policy is not None,
        terms=[reach, impact, confidence, effort, decay],
        policy=policy,
    )


def rank(scores: Iterable[Score]) -> list[Score]:
    """Policy items first, then by score, highest first; ties by id (oldest first)."""
    return sorted(scores, key=lambda s: s.rank_key)
