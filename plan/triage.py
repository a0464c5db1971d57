"""Triage: turn firing alerts, burning SLOs and large or growing feedback themes into items.

Every step is idempotent: items are found by their unique origin key and evidence is
insert-or-ignore, so running triage twice (or on two workers) adds nothing the second time.
The deciding parts (`burn_level`, `theme_trigger`, `feedback_kind`) are pure.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from alerts.models import Alert, AlertState
from feedback.analysis_models import Theme
from feedback.models import Feedback, Sentiment
from plan.config import PlanConfig
from plan.evidence import NewEvidence, add_evidence, refresh_evidence
from plan.items import open_item_for
from plan.models import Evidence, EvidenceKind, Item, ItemKind

# Google SRE workbook, multi-window multi-burn-rate: (long, short, factor, level).
BURN_RULES = (
    ("1h", "5m", 14.4, "page"),
    ("6h", "30m", 6.0, "page"),
    ("1d", "2h", 3.0, "ticket"),
    ("3d", "6h", 1.0, "ticket"),
)
RECENT_RESOLVED_S = 15 * 60  # an alert that fired and resolved between two runs still counts
NEGATIVE_SHARE_FOR_BUG = 0.4
POSITIVE_SHARE_FOR_PRAISE = 0.6
# Phrasings of a request for something new (a sentiment model often reads them as negative).
WISH = re.compile(
    r"\b(please (add|support|make|let)|can you (add|support)|could you (add|support)|"
    r"would (be|love) (nice|great|to have)|i wish|feature request|it would be (nice|great)|"
    r"add (support|an? |the )|support for)\b",
    re.IGNORECASE,
)
# Phrasings of something broken, for posts the sentiment model scores as neutral.
COMPLAINT = re.compile(
    r"\b(can'?t|cannot|unable to|doesn'?t work|does not work|broken|hangs?|crash(es|ed)?|"
    r"error|fails?|failed|times? out|timed out|lost|logs? me out|stuck)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SloObservation:
    """What the collector says about one SLO at `now` (plain data, gathered by the job)."""

    service: str
    slo: str
    objective: float
    burn_rates: Mapping[str, float | None]
    budget_remaining: float | None = None  # share of the budget left, 1.0 = untouched
    error_ratio: float | None = None  # over the shortest window that has data
    requests: float | None = None  # requests over the same window


@dataclass
class TriageResult:
    items_touched: set[int] = field(default_factory=set)
    evidence_added: int = 0

    def merge(self, item_id: int | None, added: int) -> None:
        if item_id is not None and added:
            self.items_touched.add(item_id)
        self.evidence_added += added


def burn_level(rates: Mapping[str, float | None], budget_remaining: float | None) -> str | None:
    """`exhausted`, `page`, `ticket` or None for one SLO's burn rates."""
    if budget_remaining is not None and budget_remaining <= 0:
        return "exhausted"
    for long_w, short_w, factor, level in BURN_RULES:
        long_r, short_r = rates.get(long_w), rates.get(short_w)
        if long_r is not None and short_r is not None and long_r >= factor and short_r >= factor:
            return level
    return None


def theme_trigger(size: int, recent: int, previous: int, cfg: PlanConfig) -> str | None:
    """Why a theme deserves an item (size or growth), or None."""
    if size >= cfg.theme_min_size:
        return f"{size} posts (threshold {cfg.theme_min_size})"
    # Growth needs a week before to grow from; a brand-new theme waits for the size rule.
    if previous and recent >= cfg.theme_growth_min_posts and recent >= cfg.theme_growth * previous:
        return f"grew from {previous} to {recent} posts week over week"
    return None


def feedback_kind(
    sentiment_labels: Sequence[str | None], urgent: int, texts: Sequence[str] = ()
) -> ItemKind | None:
    """Complaints make a bug; wishes ("can you add ...") and neutral remarks a feature;
    praise (mostly positive, asking for nothing) makes no item."""
    if urgent:
        return ItemKind.BUG
    if texts and sum(1 for t in texts if WISH.search(t)) * 2 >= len(texts):
        return ItemKind.FEATURE
    if texts and sum(1 for t in texts if COMPLAINT.search(t)) * 2 >= len(texts):
        return ItemKind.BUG
    if not sentiment_labels:
        return ItemKind.FEATURE
    negative = sum(1 for s in sentiment_labels if s == Sentiment.NEGATIVE.value)
    if negative / len(sentiment_labels) >= NEGATIVE_SHARE_FOR_BUG:
        return ItemKind.BUG
    positive = sum(1 for s in sentiment_labels if s == Sentiment.POSITIVE.value)
    if positive / len(sentiment_labels) >= POSITIVE_SHARE_FOR_PRAISE:
        return None
    return ItemKind.FEATURE


def reporter_key(feedback: Feedback) -> str:
    """One stable, non-reversible key per person; an anonymous post counts as its own person."""
    who = (feedback.email or "").strip().lower() or (feedback.author or "").strip().lower()
    basis = f"person:{who}" if who else f"feedback:{feedback.id}"
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def _feedback_severity(fb: Feedback) -> str:
    if fb.urgent:
        return "high"
    return "medium" if fb.sentiment_label == Sentiment.NEGATIVE.value else "low"


# ---------------------------------------------------------------- alerts


def _alert_evidence(alert: Alert) -> NewEvidence:
    labels = alert.label_map
    notes = alert.annotation_map
    summary = notes.get("summary") or notes.get("description") or alert.alertname
    if alert.value is not None:
        summary = f"{summary} (value {alert.value:g})"
    return NewEvidence(
        kind=EvidenceKind.ALERT,
        ref_id=str(alert.id),
        ref_key=alert.fingerprint,
        summary=f"[{alert.source}] {summary}",
        severity=labels.get("severity"),
        observed_at=alert.fired_at or alert.starts_at,
    )


def triage_alerts(session: Session, now: datetime) -> TriageResult:
    """Each firing alert group (service + alertname) feeds one incident item; an SLO-burn
    alert (label `slo`) feeds its SLO's reliability item."""
    result = TriageResult()
    recent = now - timedelta(seconds=RECENT_RESOLVED_S)
    alerts = session.exec(
        select(Alert).where(
            or_(
                col(Alert.state) == AlertState.FIRING.value,
                and_(col(Alert.state) == AlertState.RESOLVED.value, col(Alert.fired_at) >= recent),
            )
        )
    ).all()
    groups: dict[tuple[str, str], list[Alert]] = defaultdict(list)
    for alert in alerts:
        groups[(alert.service or "unknown", alert.alertname)].append(alert)
    for (service, alertname), members in sorted(groups.items()):
        slo = members[0].label_map.get("slo")
        if slo:
            key, kind = f"slo:{service}:{slo}", ItemKind.RELIABILITY
            title = f"{service}: SLO {slo} is burning its error budget"
        else:
            key, kind = f"alert:{service}:{alertname}", ItemKind.INCIDENT
            title = f"{service}: {alertname}"
        item = open_item_for(
            session, key, kind, None if service == "unknown" else service, title, now
        )
        if item is None:
            continue
        added = add_evidence(session, item.id or 0, [_alert_evidence(a) for a in members], now)
        if slo:
            added += _page_burn_from_alerts(session, item.id or 0, slo, members, now)
        result.merge(item.id, added)
    return result


def _page_burn_from_alerts(
    session: Session, item_id: int, slo: str, members: Sequence[Alert], now: datetime
) -> int:
    """A firing page-severity burn alert is a page-level burn for the error-budget policy."""
    paging = [
        a
        for a in members
        if a.state == AlertState.FIRING.value and a.label_map.get("severity") == "page"
    ]
    if not paging:
        return 0
    piece = NewEvidence(
        kind=EvidenceKind.SLO_BURN,
        ref_id=f"{slo}:{now.date().isoformat()}",
        ref_key=slo,
        summary=f"page-level burn alert {paging[0].alertname} firing",
        severity="page",
        observed_at=now,
    )
    return 1 if refresh_evidence(session, item_id, piece, now) else 0


# ---------------------------------------------------------------- SLOs


def _burn_summary(obs: SloObservation, level: str) -> str:
    rates = ", ".join(
        f"{rate:.1f}x over {window}" for window, rate in obs.burn_rates.items() if rate is not None
    )
    budget = (
        f"; budget {obs.budget_remaining * 100:.0f}% left"
        if obs.budget_remaining is not None
        else ""
    )
    return f"{level}: burn {rates or 'n/a'}{budget} (objective {obs.objective * 100:g}%)"


def triage_slos(
    session: Session, observations: Iterable[SloObservation], now: datetime
) -> TriageResult:
    """A burning SLO (or an exhausted budget) feeds its service's reliability item; the
    day's burn evidence is refreshed in place while the burn lasts."""
    result = TriageResult()
    for obs in observations:
        level = burn_level(obs.burn_rates, obs.budget_remaining)
        if level is None:
            continue
        item = open_item_for(
            session,
            f"slo:{obs.service}:{obs.slo}",
            ItemKind.RELIABILITY,
            obs.service,
            f"{obs.service}: SLO {obs.slo} is burning its error budget",
            now,
        )
        if item is None:
            continue
        affected = (
            obs.requests * obs.error_ratio
            if obs.requests is not None and obs.error_ratio is not None
            else None
        )
        piece = NewEvidence(
            kind=EvidenceKind.SLO_BURN,
            ref_id=f"{obs.slo}:{now.date().isoformat()}",
            ref_key=obs.slo,
            summary=_burn_summary(obs, level),
            severity=level,
            affected_share=obs.error_ratio,
            affected_requests=affected,
            observed_at=now,
        )
        result.merge(item.id, 1 if refresh_evidence(session, item.id or 0, piece, now) else 0)
    return result


# ---------------------------------------------------------------- feedback themes


def _theme_roots(themes: Sequence[Theme]) -> dict[int, int]:
    """Theme id → the theme it was (transitively) merged into, or itself."""
    parent = {t.id or 0: t.merged_into_id for t in themes}
    roots: dict[int, int] = {}
    for start in parent:
        node, seen = start, {start}
        while parent.get(node) is not None and parent[node] not in seen:
            node = parent[node] or node
            seen.add(node)
        roots[start] = node
    return roots


def _theme_counts(
    session: Session, roots: Mapping[int, int], cfg: PlanConfig, now: datetime
) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Per root theme: non-spam posts in all, in the last growth window, in the one before."""
    week = timedelta(seconds=cfg.theme_growth_window_s)
    rows = session.exec(
        select(Feedback.theme_id, Feedback.created_at).where(
            col(Feedback.theme_id).is_not(None), col(Feedback.spam).is_(False)
        )
    ).all()
    size: dict[int, int] = defaultdict(int)
    recent: dict[int, int] = defaultdict(int)
    previous: dict[int, int] = defaultdict(int)
    for theme_id, created_at in rows:
        root = roots.get(theme_id or 0)
        if root is None:
            continue
        size[root] += 1
        if created_at >= now - week:
            recent[root] += 1
        elif created_at >= now - 2 * week:
            previous[root] += 1
    return size, recent, previous


def triage_themes(session: Session, cfg: PlanConfig, now: datetime) -> TriageResult:
    """A theme above the size threshold, or growing fast, opens a bug or feature item; every
    non-spam post of a theme that has an item becomes evidence of it."""
    result = TriageResult()
    themes = session.exec(select(Theme)).all()
    if not themes:
        return result
    roots = _theme_roots(themes)
    by_id = {t.id or 0: t for t in themes}
    size, recent, previous = _theme_counts(session, roots, cfg, now)
    open_keys = set(
        session.exec(
            select(Evidence.ref_key)
            .where(col(Evidence.kind).in_([EvidenceKind.FEEDBACK.value, EvidenceKind.SURVEY.value]))
            .distinct()
        ).all()
    )
    for root, count in sorted(size.items()):
        reason = theme_trigger(count, recent[root], previous[root], cfg)
        if reason is None and str(root) not in open_keys:
            continue
        members = [t for t, r in roots.items() if r == root]
        result_one = _feed_theme(session, by_id[root], members, now)
        result.merge(result_one[0], result_one[1])
    return result


def _feed_theme(
    session: Session, theme: Theme, member_ids: Sequence[int], now: datetime
) -> tuple[int | None, int]:
    posts = session.exec(
        select(Feedback)
        .where(col(Feedback.theme_id).in_(member_ids), col(Feedback.spam).is_(False))
        .order_by(col(Feedback.id))
    ).all()
    if not posts:
        return None, 0
    kind = feedback_kind(
        [p.sentiment_label for p in posts],
        sum(1 for p in posts if p.urgent),
        [p.text for p in posts],
    )
    key = f"theme:{theme.id}"
    if kind is None:  # praise: feed an item a person opened or kept, never open one
        existing = session.exec(select(Item).where(Item.origin_key == key)).first()
        if existing is None:
            return None, 0
        kind = ItemKind(existing.kind)
    terms = ", ".join(json.loads(theme.top_terms or "[]")[:4])
    title = theme.label or f"Users mention {terms}"
    item = open_item_for(session, key, kind, theme.service, title, now)
    if item is None:
        return None, 0
    known = set(
        session.exec(
            select(Evidence.ref_id).where(
                Evidence.item_id == item.id,
                col(Evidence.kind).in_([EvidenceKind.FEEDBACK.value, EvidenceKind.SURVEY.value]),
            )
        ).all()
    )
    fresh = [
        NewEvidence(
            kind=EvidenceKind.SURVEY if p.survey_response_id else EvidenceKind.FEEDBACK,
            ref_id=str(p.id),
            ref_key=str(theme.id),
            summary=p.text[:280],
            people=1,
            reporter=reporter_key(p),
            severity=_feedback_severity(p),
            sentiment=p.sentiment,
            observed_at=p.created_at,
        )
        for p in posts
        if str(p.id) not in known
    ]
    return item.id, add_evidence(session, item.id or 0, fresh, now)


def triage(
    session: Session, cfg: PlanConfig, slo_observations: Iterable[SloObservation], now: datetime
) -> TriageResult:
    """All of triage, in one transaction of the caller's."""
    total = TriageResult()
    for part in (
        triage_alerts(session, now),
        triage_slos(session, slo_observations, now),
        triage_themes(session, cfg, now),
    ):
        total.items_touched |= part.items_touched
        total.evidence_added += part.evidence_added
    return total
