"""Deploy markers: record them, release the items they name, flag possible regressions.

A deploy is one version of one service at one time, so a rollback to an older version is
a deploy of its own. A POST that repeats a deploy is recognised instead of stored twice:
`same_deploy` (pure) matches it to the service's deploy nearest in time when that one is
of the same version and within `RETRY_WINDOW` (CI retries omit `at`, so it differs by the
retry's delay). Writers of one service are serialised (SQLite's write lock; a PostgreSQL
transaction-scoped advisory lock), so two retries racing cannot both insert.

`regression_verdict` decides (pure); `detect_regressions` counts alerts and negative
feedback around each recent deploy and stores the flag on the deploy and on its items.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from alerts.models import Alert
from core.db import canonical_json, insert_ignore
from feedback.models import Feedback, Sentiment
from plan.config import PlanConfig
from plan.errors import DeployError
from plan.evidence import NewEvidence, add_evidence
from plan.items import mark_released
from plan.models import Deploy, EvidenceKind, Item

NAME_MAX = 120
URL_MAX = 2048
MAX_ITEMS = 200
# A repeat of the same service and version this close to its deploy, with no other version
# deployed in between, is a CI retry, not a new deploy.
RETRY_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class DeployRecorded:
    deploy: Deploy
    created: bool
    released: list[int]


def _text(value: Any, field: str, *, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise DeployError(f"{field} is required")
        return None
    if not isinstance(value, str):
        raise DeployError(f"{field} must be a string, got {type(value).__name__}")
    if len(value.strip()) > NAME_MAX:
        raise DeployError(f"{field} must be at most {NAME_MAX} characters")
    return value.strip()


def _url(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > URL_MAX:
        raise DeployError(f"url must be a string of at most {URL_MAX} characters")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise DeployError(f"url must be an http(s) URL, got {value!r}")
    return value


def _item_ids(value: Any) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise DeployError(f"items must be a list of at most {MAX_ITEMS} item ids")
    bad = [v for v in value if isinstance(v, bool) or not isinstance(v, int) or v < 1]
    if bad:
        raise DeployError(f"items must be positive integer ids; not ids: {bad[:5]}")
    return list(dict.fromkeys(value))


def _load_items(session: Session, ids: Sequence[int]) -> list[Item]:
    items = {i.id: i for i in session.exec(select(Item).where(col(Item.id).in_(list(ids))))}
    missing = [i for i in ids if i not in items]
    if missing:
        raise DeployError(f"unknown item id(s): {', '.join(map(str, missing))}")
    merged = [i for i in ids if items[i].merged_into_id is not None]
    if merged:
        where = ", ".join(f"{i} → {items[i].merged_into_id}" for i in merged)
        raise DeployError(f"item(s) merged into others, name the target instead: {where}")
    return [items[i] for i in ids]


def same_deploy(
    nearby: Sequence[Deploy], version: str, at: datetime, window: timedelta = RETRY_WINDOW
) -> Deploy | None:
    """The deploy a POST of `version` at `at` repeats: the service's deploy nearest in time,
    if it is of that version and within the window. Otherwise (a rollback, a redeploy
    later on) the POST is a new deploy."""
    close = [d for d in nearby if abs(d.at - at) <= window]
    if not close:
        return None
    nearest = min(close, key=lambda d: (abs(d.at - at), -(d.id or 0)))
    return nearest if nearest.version == version else None


def _serialise_service(session: Session, service: str) -> None:
    """One writer of a service's deploys at a time, until the transaction ends."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: writers already hold the database's write lock (BEGIN IMMEDIATE)
    digest = hashlib.blake2b(f"opsloop.deploy:{service}".encode(), digest_size=8).digest()
    key = int.from_bytes(digest, "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _find_or_insert(
    session: Session,
    name: str,
    ver: str,
    when: datetime,
    link: str | None,
    ids: list[int],
    now: datetime,
) -> tuple[Deploy, bool]:
    _serialise_service(session, name)
    nearby = session.exec(
        select(Deploy).where(
            Deploy.service == name,
            col(Deploy.at) >= when - RETRY_WINDOW,
            col(Deploy.at) <= when + RETRY_WINDOW,
        )
    ).all()
    found = same_deploy(nearby, ver, when)
    if found is not None:
        return found, False
    stmt = insert_ignore(session, Deploy, ["service", "version", "at"]).values(
        service=name,
        version=ver,
        at=when,
        url=link,
        items=canonical_json(ids),
        regression_flag=False,
        created_at=now,
    )
    inserted = session.execute(stmt.returning(col(Deploy.id))).all()
    deploy = session.exec(
        select(Deploy).where(Deploy.service == name, Deploy.version == ver, Deploy.at == when)
    ).one()
    session.refresh(deploy)
    return deploy, bool(inserted)


def record_deploy(
    session: Session,
    *,
    service: Any,
    version: Any,
    cfg: PlanConfig,
    now: datetime,
    at: datetime | None = None,
    url: Any = None,
    items: Any = None,
) -> DeployRecorded:
    """Store a deploy marker (a CI retry of it changes nothing, see `same_deploy`) and move
    the items it names to released."""
    name = _text(service, "service") or ""
    ver = _text(version, "version") or ""
    link = _url(url)
    ids = _item_ids(items)
    named = _load_items(session, ids)
    deploy, created = _find_or_insert(session, name, ver, at or now, link, ids, now)
    known = [] if created else deploy.item_ids
    new_ids = [i for i in ids if i not in known]
    if new_ids and not created:
        deploy.items = canonical_json(known + new_ids)
        session.add(deploy)
    fresh = [item for item in named if created or item.id in new_ids]
    released = _release(session, deploy, fresh, cfg, now)
    session.flush()
    return DeployRecorded(deploy=deploy, created=created, released=released)


def _release(
    session: Session, deploy: Deploy, items: Sequence[Item], cfg: PlanConfig, now: datetime
) -> list[int]:
    """Move items to released in this deploy and put the deploy on their timeline."""
    released = []
    for item in items:
        if item.released_in != deploy.id:
            mark_released(item, deploy.at, deploy.id, cfg)
            item.updated_at = now
            session.add(item)
            released.append(item.id or 0)
        piece = NewEvidence(
            kind=EvidenceKind.DEPLOY,
            ref_id=str(deploy.id),
            ref_key=deploy.service,
            summary=f"deployed {deploy.service} {deploy.version}",
            observed_at=deploy.at,
        )
        add_evidence(session, item.id or 0, [piece], now)
    return released


def list_deploys(session: Session, *, service: str | None = None, limit: int = 100) -> list[Deploy]:
    query = select(Deploy)
    if service:
        query = query.where(Deploy.service == service)
    query = query.order_by(col(Deploy.at).desc(), col(Deploy.id).desc()).limit(
        max(1, min(limit, 1000))
    )
    return list(session.exec(query).all())


def deploys_for_items(session: Session, item_ids: Sequence[int]) -> dict[int, list[Deploy]]:
    """Deploys that named each item (for the item timeline)."""
    found: dict[int, list[Deploy]] = {i: [] for i in item_ids}
    if not item_ids:
        return found
    for deploy in session.exec(select(Deploy).order_by(col(Deploy.at))):
        for item_id in deploy.item_ids:
            if item_id in found:
                found[item_id].append(deploy)
    return found


# ---------------------------------------------------------------- regressions


def regression_verdict(
    alerts_before: int,
    alerts_after: int,
    negative_before: int,
    negative_after: int,
    cfg: PlanConfig,
) -> str | None:
    """A spike: at least `regression_min_events` after the deploy and `regression_factor`
    times as many as in the same span before it. Returns the reason, or None."""
    reasons = []
    for what, before, after in (
        ("alerts", alerts_before, alerts_after),
        ("negative feedback posts", negative_before, negative_after),
    ):
        if after >= cfg.regression_min_events and after >= cfg.regression_factor * max(before, 1):
            reasons.append(f"{what}: {after} after vs {before} before")
    return "; ".join(reasons) or None


def _count_alerts(session: Session, service: str, start: datetime, end: datetime) -> int:
    query = select(func.count()).where(
        Alert.service == service, col(Alert.fired_at) >= start, col(Alert.fired_at) < end
    )
    return int(session.exec(query).one())


def _count_negative(session: Session, service: str, start: datetime, end: datetime) -> int:
    query = select(func.count()).where(
        Feedback.service == service,
        Feedback.sentiment_label == Sentiment.NEGATIVE.value,
        col(Feedback.spam).is_(False),
        col(Feedback.created_at) >= start,
        col(Feedback.created_at) < end,
    )
    return int(session.exec(query).one())


def detect_regressions(session: Session, cfg: PlanConfig, now: datetime) -> list[Deploy]:
    """Flag deploys (and their items) followed by a spike of alerts or negative feedback
    within the regression window; returns the deploys newly flagged."""
    window = timedelta(seconds=cfg.regression_window_s)
    recent = session.exec(
        select(Deploy).where(
            col(Deploy.regression_flag).is_(False),
            col(Deploy.at) >= now - 2 * window,
            col(Deploy.at) <= now,
        )
    ).all()
    flagged = []
    for deploy in recent:
        end = min(now, deploy.at + window)
        span = end - deploy.at
        counts = (
            _count_alerts(session, deploy.service, deploy.at - span, deploy.at),
            _count_alerts(session, deploy.service, deploy.at, end),
            _count_negative(session, deploy.service, deploy.at - span, deploy.at),
            _count_negative(session, deploy.service, deploy.at, end),
        )
        reason = regression_verdict(*counts, cfg)
        if reason is None:
            continue
        note = f"possible regression from {deploy.service} {deploy.version}: {reason}"
        deploy.regression_flag = True
        deploy.regression_note = note
        session.add(deploy)
        for item in session.exec(select(Item).where(col(Item.id).in_(deploy.item_ids))):
            item.regression_note = note
            item.updated_at = now
            session.add(item)
        flagged.append(deploy)
    session.flush()
    return flagged


def deploy_as_dict(deploy: Deploy) -> dict[str, Any]:
    return {
        "id": deploy.id,
        "service": deploy.service,
        "version": deploy.version,
        "at": deploy.at.isoformat(),
        "url": deploy.url,
        "items": json.loads(deploy.items),
        "regression_flag": deploy.regression_flag,
        "regression_note": deploy.regression_note,
    }
