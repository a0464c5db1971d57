"""Targets: the service functions that create, change, list and sync scrape targets."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from sqlmodel import Session, col, select

from collector.config import ScrapeConfig, StaticTarget, parse_target_groups
from collector.errors import ScrapeConfigError, TargetConflict, TargetError, TargetNotFound
from collector.models import Health, Target, TargetSource
from core.db import canonical_json, insert_ignore

log = logging.getLogger(__name__)

SELF_JOB = "opsloop"
MAX_INTERVAL_S = 86400.0
_LABEL_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
TARGET = Target.__table__  # type: ignore[attr-defined]


def instance_of(url: str) -> str:
    """The `instance` label of a target: host:port of its URL, as Prometheus's __address__."""
    return urlsplit(url).netloc.rsplit("@", 1)[-1]


def target_labels(target: Target) -> dict[str, str]:
    """Labels every sample of the target gets: job, instance, then its own labels."""
    labels = {"job": target.job, "instance": instance_of(target.url)}
    labels.update(json.loads(target.labels or "{}"))
    return labels


def validate(
    *, job: str, url: str, labels: Mapping[str, str], interval_s: float, timeout_s: float
) -> None:
    if not job or len(job) > 200:
        raise TargetError("job must be 1 to 200 characters")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise TargetError(f"url {url!r} is not an http(s) URL with a host")
    if len(url) > 2000:
        raise TargetError("url is longer than 2000 characters")
    for name, value in labels.items():
        if not name or name[0].isdigit() or not set(name) <= _LABEL_NAME_OK:
            raise TargetError(f"label name {name!r} is not [a-zA-Z_][a-zA-Z0-9_]*")
        if name.startswith("__"):
            raise TargetError(f"label name {name!r} is reserved (starts with __)")
        if not isinstance(value, str):
            raise TargetError(f"label {name!r} must have a string value")
    if not 0 < interval_s <= MAX_INTERVAL_S:
        raise TargetError("interval_s must be between 0 and 86400")
    if not 0 < timeout_s <= interval_s:
        raise TargetError("timeout_s must be above 0 and at most interval_s")


def ensure_target(
    session: Session,
    *,
    job: str,
    url: str,
    labels: Mapping[str, str] | None = None,
    interval_s: float,
    timeout_s: float,
    source: TargetSource | str,
) -> Target:
    """Create the (job, url) target or bring it to these values; safe to call concurrently.

    The session is flushed, not committed: the caller owns the transaction.
    """
    labels = dict(labels or {})
    validate(job=job, url=url, labels=labels, interval_s=interval_s, timeout_s=timeout_s)
    values = {
        "job": job,
        "url": url,
        "labels": canonical_json(labels),
        "interval_s": float(interval_s),
        "timeout_s": float(timeout_s),
        "source": TargetSource(source).value,
    }
    conn = session.connection()
    conn.execute(
        insert_ignore(conn, TARGET), [{**values, "enabled": True, "health": Health.UNKNOWN.value}]
    )
    target = session.exec(select(Target).where(Target.job == job, Target.url == url)).one()
    session.refresh(target)
    for key, value in values.items():
        if getattr(target, key) != value:
            setattr(target, key, value)
    session.add(target)
    session.flush()
    return target


def list_targets(session: Session, *, job: str | None = None) -> list[Target]:
    stmt = select(Target).order_by(col(Target.job), col(Target.url))
    if job is not None:
        stmt = stmt.where(Target.job == job)
    return list(session.exec(stmt))


def get_target(session: Session, target_id: int) -> Target:
    target = session.get(Target, target_id)
    if target is None:
        raise TargetNotFound(f"no target has id {target_id}")
    return target


def create_target(
    session: Session,
    *,
    job: str,
    url: str,
    labels: Mapping[str, str] | None = None,
    interval_s: float = 60.0,
    timeout_s: float = 10.0,
    enabled: bool = True,
) -> Target:
    """A target added from the dashboard or API; refuses a (job, url) that already exists."""
    labels = dict(labels or {})
    validate(job=job, url=url, labels=labels, interval_s=interval_s, timeout_s=timeout_s)
    existing = session.exec(select(Target).where(Target.job == job, Target.url == url)).first()
    if existing is not None:
        raise TargetConflict(f"job {job!r} already has a target {url!r} (id {existing.id})")
    target = Target(
        job=job,
        url=url,
        labels=canonical_json(labels),
        interval_s=float(interval_s),
        timeout_s=float(timeout_s),
        enabled=enabled,
        source=TargetSource.API.value,
    )
    session.add(target)
    session.flush()
    return target


_EDITABLE = {"job", "url", "labels", "interval_s", "timeout_s", "enabled"}


def update_target(session: Session, target_id: int, changes: Mapping[str, Any]) -> Target:
    """Change a target; `enabled: false` pauses it. Unknown or junk fields are refused, and
    so is any change but pausing to a target of the config file or opsloop's own."""
    target = get_target(session, target_id)
    _check_user_change(target, changes)
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise TargetError(f"cannot change {', '.join(sorted(unknown))}")
    if "enabled" in changes and not isinstance(changes["enabled"], bool):
        raise TargetError("enabled must be true or false")
    labels = changes.get("labels", json.loads(target.labels))
    if not isinstance(labels, dict):
        raise TargetError("labels must be an object of name to string value")
    try:
        interval = float(changes.get("interval_s", target.interval_s))
        timeout = float(changes.get("timeout_s", target.timeout_s))
    except (TypeError, ValueError):
        raise TargetError("interval_s and timeout_s must be numbers") from None
    job = str(changes.get("job", target.job))
    url = str(changes.get("url", target.url))
    validate(job=job, url=url, labels=labels, interval_s=interval, timeout_s=timeout)
    if (job, url) != (target.job, target.url):
        clash = session.exec(select(Target).where(Target.job == job, Target.url == url)).first()
        if clash is not None:
            raise TargetConflict(f"job {job!r} already has a target {url!r} (id {clash.id})")
    target.job, target.url, target.labels = job, url, canonical_json(labels)
    target.interval_s, target.timeout_s = interval, timeout
    target.enabled = changes.get("enabled", target.enabled)
    session.add(target)
    session.flush()
    return target


def delete_target(session: Session, target_id: int) -> None:
    """Remove a target; its series stay (target_id becomes NULL) until retention drops them.
    Targets of the config file and opsloop's own are refused (TargetConflict)."""
    target = get_target(session, target_id)
    _check_user_change(target, None)
    session.delete(target)
    session.flush()


def _check_user_change(target: Target, changes: Mapping[str, Any] | None) -> None:
    """Targets of the config file (and the self target) may only be paused from the UI/API:
    anything else would be undone at the next config sync. None stands for removal."""
    if target.source not in {TargetSource.CONFIG.value, TargetSource.SELF.value}:
        return
    if changes is None or set(changes) - {"enabled"}:
        what = "removed" if changes is None else "changed (only paused)"
        where = "the config file" if target.source == TargetSource.CONFIG.value else "opsloop"
        raise TargetConflict(f"target {target.id} is defined by {where}; it cannot be {what} here")


# ---------------------------------------------------------------- config sync


@dataclass
class FileSDState:
    """Modification times of the file_sd files at the last sync: a change triggers a resync."""

    mtimes: dict[str, float] = field(default_factory=dict)


def _file_sd_targets(config: ScrapeConfig, state: FileSDState) -> dict[str, list[StaticTarget]]:
    found: dict[str, list[StaticTarget]] = {}
    state.mtimes.clear()
    for job in config.jobs:
        for sd in job.file_sd:
            for pattern in sd.files:
                for path in sorted(config.base_dir.glob(pattern)):
                    state.mtimes[str(path)] = path.stat().st_mtime
                    found.setdefault(job.job_name, []).extend(_read_sd_file(path, job.job_name))
    return found


def _read_sd_file(path: Path, job: str) -> list[StaticTarget]:
    where = f"{path} (job {job!r})"
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ScrapeConfigError(f"{where}: cannot read target file: {exc}") from exc
    return parse_target_groups(data, where)


def file_sd_changed(config: ScrapeConfig, state: FileSDState) -> bool:
    current: dict[str, float] = {}
    for job in config.jobs:
        for sd in job.file_sd:
            for pattern in sd.files:
                for path in config.base_dir.glob(pattern):
                    current[str(path)] = path.stat().st_mtime
    return current != state.mtimes


def sync_config_targets(
    session: Session, config: ScrapeConfig, state: FileSDState | None = None
) -> list[Target]:
    """Make the config-sourced targets exactly those of static_configs and file_sd files."""
    state = state or FileSDState()
    from_files = _file_sd_targets(config, state)
    wanted: list[Target] = []
    for job in config.jobs:
        for st in (*job.static_targets, *from_files.get(job.job_name, [])):
            labels = dict(st.labels)
            wanted.append(
                ensure_target(
                    session,
                    job=job.job_name,
                    url=job.url_for(st.address),
                    labels=labels,
                    interval_s=job.interval_s,
                    timeout_s=job.timeout_s,
                    source=TargetSource.CONFIG,
                )
            )
    keep = {t.id for t in wanted}
    for old in session.exec(select(Target).where(Target.source == TargetSource.CONFIG.value)):
        if old.id not in keep:
            log.info("target %s %s left the config; removing it", old.job, old.url)
            session.delete(old)
    session.flush()
    return wanted


def ensure_self_target(session: Session, public_url: str, config: ScrapeConfig) -> Target:
    """opsloop always scrapes its own /metrics, as job "opsloop"."""
    return ensure_target(
        session,
        job=SELF_JOB,
        url=f"{public_url.rstrip('/')}/metrics",
        labels={},
        interval_s=config.interval_s,
        timeout_s=config.timeout_s,
        source=TargetSource.SELF,
    )
