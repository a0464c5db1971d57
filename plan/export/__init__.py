"""Export items to where teams plan: GitHub Issues, Jira, a generic JSON webhook.

One small module per target behind `Exporter`, and a plain dict from target to class.
`export_item` creates the issue on the first export and updates it afterwards (the
external id lives in `export_link`, unique per item and target), and stores the outcome
of every attempt (`last_status`, `last_error`) so the item page shows it.

The HTTP call runs outside any database transaction (a slow tracker must not hold
SQLite's write lock or a PostgreSQL transaction for its whole timeout): one short
transaction reads the item and claims the link, the call follows, a second short
transaction records the outcome. The claim is an atomic `UPDATE ... WHERE claimed_at IS
NULL` (or expired), so two exports of one item racing never both create an issue.

Plain HTTP through `Http` rather than the PyGithub / jira SDKs: each target needs two
endpoints, and one seam keeps the timeout, User-Agent and error policy the same for all.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Engine
from sqlmodel import Session, col, select

from core.db import session_scope
from plan.config import ExporterConfig
from plan.errors import ExportError, ExportInProgress, ItemError
from plan.evidence import evidence_of, people_counts
from plan.export.base import Exported, Exporter, Http, ItemPayload
from plan.export.github import GitHubExporter
from plan.export.jira import JiraExporter
from plan.export.webhook import WebhookExporter
from plan.items import get_item
from plan.models import CLOSED_STATUSES, ExportLink, ExportTarget, Item, ItemStatus

log = logging.getLogger(__name__)

EXPORTERS: dict[ExportTarget, type[Exporter]] = {
    ExportTarget.GITHUB: GitHubExporter,
    ExportTarget.JIRA: JiraExporter,
    ExportTarget.WEBHOOK: WebhookExporter,
}
EVIDENCE_LINES = 10
# A claim older than this belongs to an export that died (process killed mid-call); the
# HTTP timeout is seconds, so a live export never gets near it.
CLAIM_EXPIRES = timedelta(minutes=5)


@dataclass(frozen=True)
class ExportOutcome:
    link: ExportLink
    created: bool
    error: ExportError | None = None


def item_payload(session: Session, item: Item, base_url: str) -> ItemPayload:
    rows = evidence_of(session, [item.id or 0])[item.id or 0]
    counts = people_counts(rows)
    url = f"{base_url.rstrip('/')}/plan/items/{item.id}"
    lines = [item.description.strip()] if item.description.strip() else []
    lines.append(
        f"Score {item.score:.3g} · {counts['people']} people · "
        f"{counts['affected_requests']} affected requests · {len(rows)} pieces of evidence"
    )
    lines.append("\n".join(f"- [{r.kind}] {r.summary[:200]}" for r in rows[:EVIDENCE_LINES]))
    lines.append(f"Tracked in opsloop: {url}")
    labels = ["opsloop", item.kind] + ([f"service:{item.service}"] if item.service else [])
    return ItemPayload(
        item_id=item.id or 0,
        title=item.title,
        kind=item.kind,
        status=item.status,
        service=item.service,
        score=item.score,
        url=url,
        body="\n\n".join(line for line in lines if line),
        labels=labels,
        closed=ItemStatus(item.status) in CLOSED_STATUSES,
    )


def _exporter_config(
    target: ExportTarget | str, exporters: dict[ExportTarget, ExporterConfig]
) -> tuple[ExportTarget, ExporterConfig]:
    try:
        kind = ExportTarget(str(target))
    except ValueError:
        raise ItemError(f"unknown export target {target!r}") from None
    config = exporters.get(kind)
    if config is None:
        raise ItemError(f"no {kind.value} exporter is configured (config section `exporters`)")
    return kind, config


def _claim(
    session: Session, item_id: int, target: ExportTarget, token: str, now: datetime
) -> ExportLink:
    """The item's link to the target, claimed for this export; ExportInProgress if taken."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(ExportLink)
        .values(item_id=item_id, target=target.value)
        .on_conflict_do_nothing(index_elements=["item_id", "target"])
    )
    claimed: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
        update(ExportLink)
        .where(
            col(ExportLink.item_id) == item_id,
            col(ExportLink.target) == target.value,
            or_(
                col(ExportLink.claimed_at).is_(None),
                col(ExportLink.claimed_at) < now - CLAIM_EXPIRES,
            ),
        )
        .values(claimed_at=now, claim_token=token)
    )
    if claimed.rowcount != 1:
        raise ExportInProgress(item_id, target.value)
    return session.exec(
        select(ExportLink).where(ExportLink.item_id == item_id, ExportLink.target == target.value)
    ).one()


def _record(
    engine: Engine,
    link: ExportLink,
    token: str,
    now: datetime,
    done: Exported | None,
    error: str | None,
) -> ExportLink:
    """Store the outcome and release the claim (only ours: an expired one may be re-taken)."""
    values: dict[str, object] = {
        "claimed_at": None,
        "claim_token": None,
        "last_exported_at": now,
        "last_status": "error" if error else "ok",
        "last_error": error,
    }
    if done is not None:
        values["external_id"] = done.external_id
        values["external_url"] = done.external_url or link.external_url
    with session_scope(engine) as session:
        result: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
            update(ExportLink)
            .where(col(ExportLink.id) == link.id, col(ExportLink.claim_token) == token)
            .values(**values)
        )
        if result.rowcount != 1:
            log.warning("export link %s: the claim expired before the export finished", link.id)
        stored = session.get(ExportLink, link.id)
        assert stored is not None  # links go only with their item, and that was just read
        session.refresh(stored)
        return stored


def export_item(
    engine: Engine,
    item_id: int,
    target: ExportTarget | str,
    exporters: dict[ExportTarget, ExporterConfig],
    base_url: str,
    now: datetime,
    http: Http | None = None,
) -> ExportOutcome:
    """Create or update the item at the target; the outcome is stored on its export link.

    Opens its own short transactions; the caller must hold none (on SQLite the write lock
    would be kept through the HTTP call)."""
    token = uuid.uuid4().hex
    with session_scope(engine) as session:
        item = get_item(session, item_id)
        kind, config = _exporter_config(target, exporters)
        payload = item_payload(session, item, base_url)
        link = _claim(session, item_id, kind, token, now)
    exporter = EXPORTERS[kind](config, http)
    created = link.external_id is None
    try:
        done = (
            exporter.create(payload)
            if created
            else exporter.update(link.external_id or "", payload)
        )
    except ExportError as exc:
        stored = _record(engine, link, token, now, None, str(exc))
        return ExportOutcome(stored, created=False, error=exc)
    except BaseException as exc:  # release the claim, then let the caller's edge report it
        _record(engine, link, token, now, None, f"internal error: {exc}")
        raise
    return ExportOutcome(_record(engine, link, token, now, done, None), created=created)


def export_links(session: Session, item_id: int) -> list[ExportLink]:
    return list(session.exec(select(ExportLink).where(ExportLink.item_id == item_id)).all())


__all__ = ["EXPORTERS", "ExportOutcome", "Exporter", "Http", "ItemPayload", "export_item"]
