"""Export items to where teams plan: GitHub Issues, Jira, a generic JSON webhook.

One small module per target behind `Exporter`, and a plain dict from target to class.
`export_item` creates the issue on the first export and updates it afterwards (the
external id lives in `export_link`, unique per item and target), and stores the outcome
of every attempt (`last_status`, `last_error`) so the item page shows it.

Plain HTTP through `Http` rather than the PyGithub / jira SDKs: each target needs two
endpoints, and one seam keeps the timeout, User-Agent and error policy the same for all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from plan.config import ExporterConfig
from plan.errors import ExportError, ItemError
from plan.evidence import evidence_of, people_counts
from plan.export.base import Exporter, Http, ItemPayload
from plan.export.github import GitHubExporter
from plan.export.jira import JiraExporter
from plan.export.webhook import WebhookExporter
from plan.items import get_item
from plan.models import CLOSED_STATUSES, ExportLink, ExportTarget, Item, ItemStatus

EXPORTERS: dict[ExportTarget, type[Exporter]] = {
    ExportTarget.GITHUB: GitHubExporter,
    ExportTarget.JIRA: JiraExporter,
    ExportTarget.WEBHOOK: WebhookExporter,
}
EVIDENCE_LINES = 10


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


def _link(session: Session, item_id: int, target: ExportTarget) -> ExportLink:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(ExportLink)
        .values(item_id=item_id, target=target.value)
        .on_conflict_do_nothing(index_elements=["item_id", "target"])
    )
    return session.exec(
        select(ExportLink).where(ExportLink.item_id == item_id, ExportLink.target == target.value)
    ).one()


def export_item(
    session: Session,
    item_id: int,
    target: ExportTarget | str,
    exporters: dict[ExportTarget, ExporterConfig],
    base_url: str,
    now: datetime,
    http: Http | None = None,
) -> ExportOutcome:
    """Create or update the item at the target; the outcome is stored on its export link."""
    try:
        kind = ExportTarget(str(target))
    except ValueError:
        raise ItemError(f"unknown export target {target!r}") from None
    config = exporters.get(kind)
    if config is None:
        raise ItemError(f"no {kind.value} exporter is configured (config section `exporters`)")
    item = get_item(session, item_id)
    exporter = EXPORTERS[kind](config, http)
    payload = item_payload(session, item, base_url)
    link = _link(session, item_id, kind)
    created = link.external_id is None
    link.last_exported_at = now
    try:
        done = (
            exporter.create(payload)
            if created
            else exporter.update(link.external_id or "", payload)
        )
    except ExportError as exc:
        link.last_status = "error"
        link.last_error = str(exc)
        session.add(link)
        session.flush()
        return ExportOutcome(link, created=False, error=exc)
    link.external_id = done.external_id
    link.external_url = done.external_url or link.external_url
    link.last_status = "ok"
    link.last_error = None
    session.add(link)
    session.flush()
    return ExportOutcome(link, created=created)


def export_links(session: Session, item_id: int) -> list[ExportLink]:
    return list(session.exec(select(ExportLink).where(ExportLink.item_id == item_id)).all())


__all__ = ["EXPORTERS", "ExportOutcome", "Exporter", "Http", "ItemPayload", "export_item"]
