"""Verification: after the watch window, did the released item's signal recover?

`decide` is pure: it takes the before/after numbers of each signal and returns verified,
regressed or undecided (no signal to check). `verify_due` gathers those numbers for every
released item whose watch window has passed and stores them with the decision, so the
item page shows exactly what decided it.

Signals, each compared over the watch window before and after the release:
- alert:  the item's alerts (by fingerprint) fired N times before / M after; recovered
          when none of them is firing now.
- slo:    the error ratio before / after (from the collector, when the caller gives a
          probe); recovered when after is back under 1 - objective. Without a probe, the
          burn evidence observed after release decides (none = recovered).
- theme:  feedback posts of the theme before / after; recovered when after fell by at
          least the configured share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from alerts.models import Alert, AlertState
from core.db import canonical_json
from plan.config import PlanConfig
from plan.evidence import count_evidence, evidence_of
from plan.models import EvidenceKind, Item, ItemStatus

# (service, slo name, start, end) -> (error ratio, objective), or None when unknown.
ErrorRatioProbe = Callable[[str, str, datetime, datetime], "tuple[float, float] | None"]


class Decision(StrEnum):
    VERIFIED = "verified"
    REGRESSED = "regressed"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class SignalCheck:
    signal: str  # alert | slo | theme
    key: str
    before: float | None
    after: float | None
    threshold: str
    recovered: bool


def decide(checks: Sequence[SignalCheck]) -> Decision:
    """Verified when every signal recovered, regressed when any did not."""
    if not checks:
        return Decision.UNDECIDED
    return Decision.VERIFIED if all(c.recovered for c in checks) else Decision.REGRESSED


def theme_recovered(before: int, after: int, drop_share: float) -> bool:
    return after <= before * (1 - drop_share)


def _alert_checks(
    session: Session, item: Item, rows: Sequence[Any], rel: datetime, end: datetime
) -> list[SignalCheck]:
    fingerprints = sorted(
        {r.ref_key for r in rows if r.kind == EvidenceKind.ALERT.value and r.ref_key}
    )
    if not fingerprints:
        return []
    window = end - rel
    firing = session.exec(
        select(Alert.fingerprint).where(
            col(Alert.fingerprint).in_(fingerprints), Alert.state == AlertState.FIRING.value
        )
    ).all()
    before = count_evidence(session, item.id or 0, EvidenceKind.ALERT, rel - window, rel)
    after = count_evidence(session, item.id or 0, EvidenceKind.ALERT, rel, end)
    return [
        SignalCheck(
            signal="alert",
            key=", ".join(fingerprints[:5]),
            before=before,
            after=after,
            threshold=f"none of its alerts firing now ({len(firing)} firing)",
            recovered=not firing,
        )
    ]


def _slo_checks(
    session: Session,
    item: Item,
    rows: Sequence[Any],
    rel: datetime,
    end: datetime,
    probe: ErrorRatioProbe | None,
) -> list[SignalCheck]:
    slos = sorted({r.ref_key for r in rows if r.kind == EvidenceKind.SLO_BURN.value and r.ref_key})
    checks = []
    window = end - rel
    for slo in slos:
        after_probe = probe(item.service or "", slo, rel, end) if probe else None
        if after_probe is not None:
            before_probe = probe(item.service or "", slo, rel - window, rel) if probe else None
            ratio, objective = after_probe
            allowed = 1 - objective
            checks.append(
                SignalCheck(
                    signal="slo",
                    key=slo,
                    before=before_probe[0] if before_probe else None,
                    after=ratio,
                    threshold=f"error ratio after <= {allowed:.6g} (objective {objective:g})",
                    recovered=ratio <= allowed,
                )
            )
            continue
        keys = [slo]
        before = count_evidence(
            session, item.id or 0, EvidenceKind.SLO_BURN, rel - window, rel, keys
        )
        after = count_evidence(session, item.id or 0, EvidenceKind.SLO_BURN, rel, end, keys)
        checks.append(
            SignalCheck(
                signal="slo",
                key=slo,
                before=before,
                after=after,
                threshold="no burn observed after release (burn evidence count)",
                recovered=after == 0,
            )
        )
    return checks


def _theme_checks(
    session: Session, item: Item, rows: Sequence[Any], rel: datetime, end: datetime, cfg: PlanConfig
) -> list[SignalCheck]:
    kinds = {EvidenceKind.FEEDBACK.value, EvidenceKind.SURVEY.value}
    themes = sorted({r.ref_key for r in rows if r.kind in kinds and r.ref_key})
    if not themes:
        return []
    window = end - rel
    before = sum(
        count_evidence(session, item.id or 0, k, rel - window, rel, themes)
        for k in (EvidenceKind.FEEDBACK, EvidenceKind.SURVEY)
    )
    after = sum(
        count_evidence(session, item.id or 0, k, rel, end, themes)
        for k in (EvidenceKind.FEEDBACK, EvidenceKind.SURVEY)
    )
    return [
        SignalCheck(
            signal="theme",
            key=", ".join(themes),
            before=before,
            after=after,
            threshold=f"posts after <= {1 - cfg.volume_drop_share:.0%} of before",
            recovered=theme_recovered(before, after, cfg.volume_drop_share),
        )
    ]


def check_item(
    session: Session, item: Item, cfg: PlanConfig, now: datetime, probe: ErrorRatioProbe | None
) -> tuple[Decision, dict[str, Any]]:
    """The decision for one released item and the verdict to store with it."""
    rel = item.released_at or now
    end = min(now, rel + timedelta(seconds=cfg.watch_window_s))
    rows = evidence_of(session, [item.id or 0])[item.id or 0]
    checks = [
        *_alert_checks(session, item, rows, rel, end),
        *_slo_checks(session, item, rows, rel, end, probe),
        *_theme_checks(session, item, rows, rel, end, cfg),
    ]
    decision = decide(checks)
    verdict = {
        "decision": decision.value,
        "decided_at": now.isoformat(),
        "released_at": rel.isoformat(),
        "window_s": cfg.watch_window_s,
        "checks": [asdict(c) for c in checks],
    }
    if decision is Decision.UNDECIDED:
        verdict["note"] = "no alert, SLO or feedback evidence to check; decide by hand"
    return decision, verdict


def verify_due(
    session: Session, cfg: PlanConfig, now: datetime, probe: ErrorRatioProbe | None = None
) -> dict[str, int]:
    """Decide every released item whose watch window has passed; returns counts."""
    due = session.exec(
        select(Item).where(
            Item.status == ItemStatus.RELEASED.value,
            col(Item.verify_after).is_not(None),
            col(Item.verify_after) <= now,
            col(Item.merged_into_id).is_(None),
        )
    ).all()
    counts = {d.value: 0 for d in Decision}
    for item in due:
        decision, verdict = check_item(session, item, cfg, now, probe)
        counts[decision.value] += 1
        item.verdict = canonical_json(verdict)
        if decision is not Decision.UNDECIDED:
            item.status = decision.value
            item.updated_at = now
        session.add(item)
    session.flush()
    return counts
