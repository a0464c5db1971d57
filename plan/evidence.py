"""Evidence storage: attach alerts, SLO burn, feedback, survey answers and deploys to items.

Insert-or-ignore on the unique (item_id, kind, ref_id) makes every writer idempotent:
triage may run twice, or on two workers at once, and adds each piece only once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.db import dialect_insert, insert_ignore
from plan.errors import ItemError
from plan.models import Evidence, EvidenceKind, Item
from plan.scoring import BudgetState, EvidenceFacts

_VALID_KINDS = {k.value for k in EvidenceKind}
# Rows per INSERT: 15 columns stay well under SQLite's 32766 bound parameters.
INSERT_CHUNK = 500


@dataclass(frozen=True)
class NewEvidence:
    """One piece of evidence as a writer hands it over."""

    kind: EvidenceKind
    ref_id: str
    observed_at: datetime
    ref_key: str | None = None
    summary: str = ""
    people: int = 0
    reporter: str | None = None
    affected_requests: float | None = None
    affected_share: float | None = None
    severity: str | None = None
    sentiment: float | None = None


def add_evidence(
    session: Session, item_id: int, pieces: Iterable[NewEvidence], now: datetime
) -> int:
    """Attach evidence to an item; returns how many pieces were new."""
    rows = []
    for piece in pieces:
        if piece.kind.value not in _VALID_KINDS:
            raise ItemError(f"unknown evidence kind {piece.kind!r}")
        row = asdict(piece)
        row["kind"] = piece.kind.value
        row["ref_id"] = str(piece.ref_id)[:64]
        row["summary"] = piece.summary[:2000]
        rows.append({**row, "item_id": item_id, "created_at": now})
    if not rows:
        return 0
    added = 0
    for start in range(0, len(rows), INSERT_CHUNK):
        stmt = (
            insert_ignore(session, Evidence, ["item_id", "kind", "ref_id"])
            .values(rows[start : start + INSERT_CHUNK])
            .returning(Evidence.id)
        )
        # RETURNING lists only the rows really inserted, on SQLite and PostgreSQL alike.
        added += len(session.execute(stmt).all())
    return added


def refresh_evidence(session: Session, item_id: int, piece: NewEvidence, now: datetime) -> bool:
    """Insert a piece, or refresh the numbers of the one already there (an ongoing burn).

    Returns True when the piece was new."""
    row = {
        **asdict(piece),
        "kind": piece.kind.value,
        "item_id": item_id,
        "created_at": now,
    }
    changing = {
        k: row[k]
        for k in ("summary", "severity", "affected_requests", "affected_share", "observed_at")
    }
    known = session.exec(
        select(Evidence.id).where(
            Evidence.item_id == item_id,
            Evidence.kind == piece.kind.value,
            Evidence.ref_id == piece.ref_id,
        )
    ).first()
    # The write is an upsert, so a concurrent writer cannot make it fail or duplicate.
    stmt = dialect_insert(session)(Evidence).values(**row)
    session.execute(
        stmt.on_conflict_do_update(index_elements=["item_id", "kind", "ref_id"], set_=changing)
    )
    return known is None


def evidence_of(session: Session, item_ids: Sequence[int]) -> dict[int, list[Evidence]]:
    found: dict[int, list[Evidence]] = {i: [] for i in item_ids}
    if not item_ids:
        return found
    rows = session.exec(
        select(Evidence)
        .where(col(Evidence.item_id).in_(list(item_ids)))
        .order_by(col(Evidence.observed_at).desc(), col(Evidence.id))
    ).all()
    for row in rows:
        found[row.item_id].append(row)
    return found


def facts(rows: Iterable[Evidence]) -> list[EvidenceFacts]:
    return [
        EvidenceFacts(
            kind=r.kind,
            observed_at=r.observed_at,
            people=r.people,
            reporter=r.reporter,
            affected_requests=r.affected_requests,
            affected_share=r.affected_share,
            severity=r.severity,
            sentiment=r.sentiment,
        )
        for r in rows
    ]


def budget_states(session: Session, since: datetime) -> dict[str, BudgetState]:
    """Per service, the newest SLO-burn evidence observed since `since`."""
    rows = session.exec(
        select(Evidence, Item.service)
        .join(Item, col(Item.id) == col(Evidence.item_id))
        .where(
            Evidence.kind == EvidenceKind.SLO_BURN.value,
            col(Evidence.observed_at) >= since,
            col(Item.service).is_not(None),
        )
        .order_by(col(Evidence.observed_at))
    ).all()
    states: dict[str, BudgetState] = {}
    for ev, service in rows:
        if service is None:
            continue
        before = states.get(service)
        exhausted = ev.severity == "exhausted" or bool(before and before.exhausted)
        page = ev.severity == "page" or bool(before and before.page_burn)
        states[service] = BudgetState(
            service=service,
            exhausted=exhausted,
            page_burn=page,
            observed_at=ev.observed_at,
            detail=ev.summary,
        )
    return states


def count_evidence(
    session: Session,
    item_id: int,
    kind: EvidenceKind,
    start: datetime,
    end: datetime,
    ref_keys: Sequence[str] | None = None,
) -> int:
    """Pieces of one kind on an item observed in [start, end)."""
    query = select(func.count()).where(
        Evidence.item_id == item_id,
        Evidence.kind == kind.value,
        col(Evidence.observed_at) >= start,
        col(Evidence.observed_at) < end,
    )
    if ref_keys is not None:
        query = query.where(col(Evidence.ref_key).in_(list(ref_keys)))
    return int(session.exec(query).one())


def people_counts(rows: Iterable[Evidence]) -> Mapping[str, int]:
    """Counts shown on the item page: distinct people, voters, affected requests."""
    rows = list(rows)
    reporters = {r.reporter for r in rows if r.reporter}
    voters = {
        r.reporter
        for r in rows
        if r.reporter and r.kind in {EvidenceKind.FEEDBACK.value, EvidenceKind.SURVEY.value}
    }
    anonymous = sum(r.people for r in rows if not r.reporter and r.kind != "deploy")
    affected = max((r.affected_requests or 0 for r in rows), default=0)
    return {
        "people": len(reporters) + anonymous,
        "voters": len(voters),
        "affected_requests": int(affected),
    }
