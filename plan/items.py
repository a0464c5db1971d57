"""Items: create, edit, merge, split, change status in bulk, and rank them.

Ranking is computed at read time from the stored evidence with the weights of the current
config, so a weight change re-ranks the board on the next page load; the result is also
written back to `item.score` / `score_breakdown` (and by the rescoring job) for readers of
the table and for exports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from core.db import canonical_json, insert_ignore
from plan.config import PlanConfig
from plan.errors import ItemError, ItemNotFound
from plan.evidence import budget_states, evidence_of, facts
from plan.models import (
    CLOSED_STATUSES,
    Evidence,
    EvidenceKind,
    ExportLink,
    Item,
    ItemKind,
    ItemStatus,
)
from plan.scoring import ItemFacts, Score, distinct_people, rank, score_item

TITLE_MAX = 200
EDITABLE = ("title", "description", "kind", "service", "status", "effort", "public")


@dataclass(frozen=True)
class RankedItem:
    position: int
    item: Item
    score: Score

    def as_row(self) -> dict[str, Any]:
        """The item with its rank and score as plain data: what the plan API, the CSV/JSON
        export and `opsloop plan items --json` give out (keys in the order of ROW_FIELDS)."""
        item = self.item
        return {
            "rank": self.position,
            "id": item.id,
            "title": item.title,
            "kind": item.kind,
            "service": item.service,
            "status": item.status,
            "score": round(self.score.score, 6),
            "ranked_first": self.score.ranked_first,
            "effort": item.effort,
            "votes": item.votes,
            "public": item.public,
            "created_at": item.created_at.isoformat(),
            "released_at": item.released_at.isoformat() if item.released_at else None,
        }


ROW_FIELDS = (
    *("rank", "id", "title", "kind", "service", "status", "score", "ranked_first"),
    *("effort", "votes", "public", "created_at", "released_at"),
)


def _status(value: Any) -> ItemStatus:
    try:
        return ItemStatus(str(value))
    except ValueError:
        choices = ", ".join(s.value for s in ItemStatus)
        raise ItemError(f"status must be one of {choices}, got {value!r}") from None


def _kind(value: Any) -> ItemKind:
    try:
        return ItemKind(str(value))
    except ValueError:
        choices = ", ".join(k.value for k in ItemKind)
        raise ItemError(f"kind must be one of {choices}, got {value!r}") from None


def _title(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ItemError("title must be a non-empty string")
    title = value.strip()
    if len(title) > TITLE_MAX:
        raise ItemError(f"title must be at most {TITLE_MAX} characters, got {len(title)}")
    return title


def _effort(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ItemError(f"effort must be a positive number of person-weeks, got {value!r}")
    try:
        effort = float(value)
    except (TypeError, ValueError):
        raise ItemError(
            f"effort must be a positive number of person-weeks, got {value!r}"
        ) from None
    if not 0 < effort <= 1000:
        raise ItemError(f"effort must be more than 0 and at most 1000, got {value!r}")
    return effort


def _service(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value.strip()) > 120:
        raise ItemError("service must be a name of at most 120 characters")
    return value.strip()


def create_item(
    session: Session,
    *,
    title: str,
    kind: ItemKind | str,
    now: datetime,
    service: str | None = None,
    description: str = "",
    effort: float | None = None,
    public: bool = False,
) -> Item:
    item = Item(
        title=_title(title),
        kind=_kind(kind).value,
        service=_service(service),
        description=description or "",
        effort=_effort(effort),
        public=bool(public),
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    return item


def get_item(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise ItemNotFound(item_id)
    return item


def follow_merges(session: Session, item: Item) -> Item:
    seen = {item.id}
    while item.merged_into_id is not None and item.merged_into_id not in seen:
        seen.add(item.merged_into_id)
        item = get_item(session, item.merged_into_id)
    return item


def open_item_for(
    session: Session,
    origin_key: str,
    kind: ItemKind,
    service: str | None,
    title: str,
    now: datetime,
) -> Item | None:
    """The item a source of evidence feeds, opened on first sight (race-free: the origin key
    is unique). None when a person declined it. A verified item is retired and a fresh one
    opened, since the problem came back after it was fixed."""
    for _ in range(2):
        row = {
            "title": _title(title[:TITLE_MAX]),
            "description": "",
            "kind": kind.value,
            "service": service,
            "status": ItemStatus.NEW.value,
            "score": 0.0,
            "score_breakdown": "{}",
            "public": False,
            "votes": 0,
            "origin_key": origin_key,
            "created_at": now,
            "updated_at": now,
        }
        session.execute(insert_ignore(session, Item, ["origin_key"]).values(**row))
        item = session.exec(select(Item).where(Item.origin_key == origin_key)).one()
        item = follow_merges(session, item)
        if item.status == ItemStatus.DECLINED.value:
            return None
        if item.status not in CLOSED_STATUSES:
            return item
        item.origin_key = f"{origin_key}#{item.id}"
        session.add(item)
        session.flush()
    raise ItemError(f"could not open an item for {origin_key}")  # pragma: no cover


def mark_released(item: Item, at: datetime, deploy_id: int | None, cfg: PlanConfig) -> None:
    item.status = ItemStatus.RELEASED.value
    item.released_at = at
    item.released_in = deploy_id
    item.verify_after = at + timedelta(seconds=cfg.watch_window_s)
    item.verdict = None


def edit_item(
    session: Session, item_id: int, changes: Mapping[str, Any], cfg: PlanConfig, now: datetime
) -> Item:
    """Apply a person's changes; unknown fields and bad values raise ItemError."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ItemError(f"cannot change {', '.join(unknown)}; editable: {', '.join(EDITABLE)}")
    item = get_item(session, item_id)
    if item.merged_into_id is not None:
        raise ItemError(f"item {item_id} was merged into item {item.merged_into_id}")
    if "title" in changes:
        item.title = _title(changes["title"])
    if "description" in changes:
        item.description = str(changes["description"] or "")
    if "kind" in changes:
        item.kind = _kind(changes["kind"]).value
    if "service" in changes:
        item.service = _service(changes["service"])
    if "effort" in changes:
        item.effort = _effort(changes["effort"])
    if "public" in changes:
        item.public = bool(changes["public"])
    if "status" in changes:
        _apply_status(item, _status(changes["status"]), cfg, now)
    item.updated_at = now
    session.add(item)
    session.flush()
    return item


def _apply_status(item: Item, status: ItemStatus, cfg: PlanConfig, now: datetime) -> None:
    if status.value == item.status:
        return
    if status is ItemStatus.RELEASED:
        mark_released(item, now, None, cfg)
    else:
        item.status = status.value


def set_status(
    session: Session, item_ids: Sequence[int], status: str, cfg: PlanConfig, now: datetime
) -> list[Item]:
    """Bulk status change; all-or-nothing when an id is unknown."""
    wanted = _status(status)
    items = [get_item(session, i) for i in dict.fromkeys(item_ids)]
    if not items:
        raise ItemError("choose at least one item")
    for item in items:
        _apply_status(item, wanted, cfg, now)
        item.updated_at = now
        session.add(item)
    session.flush()
    return items


def merge_items(session: Session, target_id: int, source_ids: Iterable[int], now: datetime) -> Item:
    """Fold items into one: their evidence and export links move, they are marked merged."""
    target = get_item(session, target_id)
    sources = [get_item(session, i) for i in dict.fromkeys(source_ids) if i != target_id]
    if not sources:
        raise ItemError("choose at least one other item to merge into this one")
    held = {(e.kind, e.ref_id) for e in evidence_of(session, [target_id])[target_id]}
    targets = {
        x.target for x in session.exec(select(ExportLink).where(ExportLink.item_id == target_id))
    }
    for source in sources:
        for ev in evidence_of(session, [source.id or 0])[source.id or 0]:
            if (ev.kind, ev.ref_id) in held:
                session.delete(ev)
                continue
            held.add((ev.kind, ev.ref_id))
            ev.item_id = target_id
            session.add(ev)
        for link in session.exec(select(ExportLink).where(ExportLink.item_id == source.id)):
            if link.target not in targets:
                targets.add(link.target)
                link.item_id = target_id
                session.add(link)
        source.merged_into_id = target_id
        source.status = ItemStatus.DECLINED.value
        source.public = False
        source.updated_at = now
        session.add(source)
    target.public = target.public or any(s.public for s in sources)
    target.updated_at = now
    session.add(target)
    session.flush()
    return target


def split_item(
    session: Session, item_id: int, evidence_ids: Iterable[int], title: str, now: datetime
) -> Item:
    """Move some of an item's evidence into a new item of the same kind and service."""
    item = get_item(session, item_id)
    wanted = set(evidence_ids)
    moving = [e for e in evidence_of(session, [item_id])[item_id] if e.id in wanted]
    if not moving:
        raise ItemError(f"choose evidence of item {item_id} to move into the new item")
    if len(moving) != len(wanted):
        raise ItemError(
            f"evidence {sorted(wanted - {e.id for e in moving})} is not on item {item_id}"
        )
    new = create_item(session, title=title, kind=item.kind, service=item.service, now=now)
    for ev in moving:
        ev.item_id = new.id or 0
        session.add(ev)
    item.updated_at = now
    session.add(item)
    session.flush()
    return new


def _item_facts(item: Item) -> ItemFacts:
    return ItemFacts(
        id=item.id or 0,
        kind=item.kind,
        service=item.service,
        effort=item.effort,
        created_at=item.created_at,
    )


def ranked_items(
    session: Session,
    cfg: PlanConfig,
    now: datetime,
    *,
    status: str | None = None,
    service: str | None = None,
    kind: str | None = None,
) -> list[RankedItem]:
    """Items (not merged away) in rank order, each scored with the current weights."""
    query = select(Item).where(col(Item.merged_into_id).is_(None))
    if status:
        query = query.where(Item.status == _status(status).value)
    if service:
        query = query.where(Item.service == service)
    if kind:
        query = query.where(Item.kind == _kind(kind).value)
    items = {i.id or 0: i for i in session.exec(query).all()}
    evidence = evidence_of(session, list(items))
    budgets = budget_states(session, now - timedelta(seconds=cfg.policy_freshness_s))
    scores = [
        score_item(_item_facts(item), facts(evidence[item_id]), cfg, budgets, now)
        for item_id, item in items.items()
    ]
    return [
        RankedItem(position=n, item=items[s.item_id], score=s)
        for n, s in enumerate(rank(scores), start=1)
    ]


def score_one(session: Session, item: Item, cfg: PlanConfig, now: datetime) -> Score:
    budgets = budget_states(session, now - timedelta(seconds=cfg.policy_freshness_s))
    rows = evidence_of(session, [item.id or 0])[item.id or 0]
    return score_item(_item_facts(item), facts(rows), cfg, budgets, now)


def rescore(session: Session, cfg: PlanConfig, now: datetime) -> int:
    """Write current scores and votes to the items; returns how many changed."""
    changed = 0
    ranked = ranked_items(session, cfg, now)
    evidence = evidence_of(session, [r.item.id or 0 for r in ranked])
    for entry in ranked:
        item = entry.item
        rows = evidence[item.id or 0]
        voters = distinct_people(
            f
            for f in facts(rows)
            if f.kind in {EvidenceKind.FEEDBACK.value, EvidenceKind.SURVEY.value}
        )
        breakdown = canonical_json(entry.score.breakdown())
        if (item.score, item.score_breakdown, item.votes) != (entry.score.score, breakdown, voters):
            item.score = entry.score.score
            item.score_breakdown = breakdown
            item.votes = voters
            session.add(item)
            changed += 1
    session.flush()
    return changed


def item_evidence(session: Session, item_id: int) -> list[Evidence]:
    return evidence_of(session, [item_id])[item_id]
