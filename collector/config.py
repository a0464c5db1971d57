"""The scrape configuration: `global` and `scrape_configs` in Prometheus's own shape.

A job pasted from a prometheus.yml works: job_name, static_configs, file_sd_configs,
metrics_path, scheme, params, scrape_interval, scrape_timeout, basic_auth, authorization,
metric_relabel_configs, sample_limit, body_size_limit, honor_labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from collector.errors import ScrapeConfigError
from collector.relabel import RelabelRule, parse_rules
from core.config import RawConfig
from core.durations import parse_duration_s as parse_core_duration_s

DEFAULT_INTERVAL_S = 60.0
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_BODY_LIMIT_BYTES = 16 * 1024 * 1024
DEFAULT_FILE_SD_REFRESH_S = 300.0
DEFAULT_RAW_RETENTION_S = 48 * 3600.0
DEFAULT_ROLLUP_RETENTION_S = 90 * 86400.0

_SIZE = re.compile(r"^(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?$", re.IGNORECASE)
_SIZE_POWER = {"": 0, "b": 0, "kb": 1, "kib": 1, "mb": 2, "mib": 2, "gb": 3, "gib": 3}
_SIZE_POWER |= {"tb": 4, "tib": 4}
_JOB_FIELDS = {
    "job_name",
    "static_configs",
    "file_sd_configs",
    "metrics_path",
    "scheme",
    "params",
    "scrape_interval",
    "scrape_timeout",
    "basic_auth",
    "authorization",
    "metric_relabel_configs",
    "sample_limit",
    "body_size_limit",
    "honor_labels",
}


@dataclass(frozen=True)
class StaticTarget:
    address: str
    labels: dict[str, str]


@dataclass(frozen=True)
class FileSD:
    files: tuple[str, ...]
    refresh_interval_s: float = DEFAULT_FILE_SD_REFRESH_S


@dataclass(frozen=True)
class JobConfig:
    """One scrape job; everything a scrape of one of its targets needs besides the URL."""

    job_name: str
    scheme: str = "http"
    metrics_path: str = "/metrics"
    params: dict[str, list[str]] = field(default_factory=dict)
    interval_s: float = DEFAULT_INTERVAL_S
    timeout_s: float = DEFAULT_TIMEOUT_S
    headers: dict[str, str] = field(default_factory=dict)
    basic_auth: tuple[str, str] | None = None
    metric_relabel: tuple[RelabelRule, ...] = ()
    sample_limit: int = 0
    body_limit_bytes: int = DEFAULT_BODY_LIMIT_BYTES
    honor_labels: bool = False
    static_targets: tuple[StaticTarget, ...] = ()
    file_sd: tuple[FileSD, ...] = ()

    def url_for(self, address: str) -> str:
        query = urlencode(self.params, doseq=True)
        return f"{self.scheme}://{address}{self.metrics_path}" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class ScrapeConfig:
    interval_s: float = DEFAULT_INTERVAL_S
    timeout_s: float = DEFAULT_TIMEOUT_S
    body_limit_bytes: int = DEFAULT_BODY_LIMIT_BYTES
    sample_limit: int = 0
    jobs: tuple[JobConfig, ...] = ()
    raw_retention_s: float = DEFAULT_RAW_RETENTION_S
    rollup_retention_s: float = DEFAULT_ROLLUP_RETENTION_S
    base_dir: Path = field(default_factory=Path.cwd)
    source: str = "<config>"

    def job(self, name: str) -> JobConfig:
        """The job's settings; a job unknown to the config (API targets) gets the defaults."""
        for job in self.jobs:
            if job.job_name == name:
                return job
        return JobConfig(
            job_name=name,
            interval_s=self.interval_s,
            timeout_s=self.timeout_s,
            body_limit_bytes=self.body_limit_bytes,
            sample_limit=self.sample_limit,
        )


def parse_duration_s(raw: Any, where: str) -> float:
    """A Prometheus duration (`15s`, `1m30s`, `500ms`) in seconds; bare numbers are seconds."""
    try:
        seconds = parse_core_duration_s(raw, bare_seconds=True)
    except ValueError as exc:
        raise ScrapeConfigError(f"{where}: {exc}") from None
    if seconds <= 0:
        raise ScrapeConfigError(f"{where}: {raw!r} is not a duration above zero, like 15s or 1m")
    return seconds


def parse_size_bytes(raw: Any, where: str) -> int:
    """A size like Prometheus's body_size_limit (`16MiB`, `10MB` = 10 MiB, 0 = no limit)."""
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    m = _SIZE.match(str(raw).strip())
    if m is None:
        raise ScrapeConfigError(f"{where}: {raw!r} is not a size like 16MiB")
    return int(m.group(1)) * 1024 ** _SIZE_POWER[(m.group(2) or "").lower()]


def _count(raw: Any, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ScrapeConfigError(f"{where}: {raw!r} is not a whole number >= 0")
    return raw


def _labels(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ScrapeConfigError(f"{where}: labels must be a mapping of name to value")
    return {str(k): str(v) for k, v in raw.items()}


def parse_target_groups(raw: Any, where: str) -> list[StaticTarget]:
    """static_configs, or the content of a file_sd file: a list of {targets, labels}."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ScrapeConfigError(f"{where}: must be a list of {{targets, labels}} groups")
    found: list[StaticTarget] = []
    for i, group in enumerate(raw):
        if not isinstance(group, dict) or not isinstance(group.get("targets", []), list):
            raise ScrapeConfigError(f"{where}[{i}]: needs `targets`, a list of host:port")
        labels = _labels(group.get("labels"), f"{where}[{i}].labels")
        for address in group.get("targets", []):
            if not isinstance(address, str) or not address or "/" in address:
                raise ScrapeConfigError(f"{where}[{i}]: {address!r} is not a host:port")
            found.append(StaticTarget(address, labels))
    return found


def _auth(raw: dict[str, Any], where: str, base_dir: Path) -> tuple[dict[str, str], Any]:
    headers: dict[str, str] = {}
    basic = None
    if "basic_auth" in raw:
        ba = raw["basic_auth"]
        if not isinstance(ba, dict) or "username" not in ba:
            raise ScrapeConfigError(f"{where}: basic_auth needs username and password")
        password = ba.get("password")
        if "password_file" in ba:
            password = _read_secret(base_dir / str(ba["password_file"]), where)
        basic = (str(ba["username"]), str(password or ""))
    if "authorization" in raw:
        au = raw["authorization"]
        if not isinstance(au, dict):
            raise ScrapeConfigError(f"{where}: authorization must be a mapping")
        credentials = au.get("credentials")
        if "credentials_file" in au:
            credentials = _read_secret(base_dir / str(au["credentials_file"]), where)
        if not credentials:
            raise ScrapeConfigError(f"{where}: authorization needs credentials")
        headers["Authorization"] = f"{au.get('type', 'Bearer')} {credentials}"
    if basic and headers:
        raise ScrapeConfigError(f"{where}: basic_auth and authorization are exclusive")
    return headers, basic


def _read_secret(path: Path, where: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ScrapeConfigError(f"{where}: cannot read {path}: {exc}") from exc


def _job(raw: Any, i: int, defaults: ScrapeConfig) -> JobConfig:
    src = defaults.source
    if not isinstance(raw, dict) or not isinstance(raw.get("job_name"), str) or not raw["job_name"]:
        raise ScrapeConfigError(f"{src}: scrape_configs[{i}]: needs a job_name")
    name = raw["job_name"]
    where = f"{src}: scrape_configs[{i}] (job {name!r})"
    unknown = set(raw) - _JOB_FIELDS
    if unknown:
        raise ScrapeConfigError(f"{where}: unsupported field(s) {', '.join(sorted(unknown))}")
    scheme = str(raw.get("scheme", "http"))
    if scheme not in {"http", "https"}:
        raise ScrapeConfigError(f"{where}: scheme must be http or https, not {scheme!r}")
    path = str(raw.get("metrics_path", "/metrics"))
    if not path.startswith("/"):
        raise ScrapeConfigError(f"{where}: metrics_path must start with /")
    params = raw.get("params") or {}
    if not isinstance(params, dict) or not all(isinstance(v, list) for v in params.values()):
        raise ScrapeConfigError(f"{where}: params must map names to lists of values")
    interval = defaults.interval_s
    if "scrape_interval" in raw:
        interval = parse_duration_s(raw["scrape_interval"], f"{where}: scrape_interval")
    timeout = min(defaults.timeout_s, interval)
    if "scrape_timeout" in raw:
        timeout = parse_duration_s(raw["scrape_timeout"], f"{where}: scrape_timeout")
    if timeout > interval:
        raise ScrapeConfigError(f"{where}: scrape_timeout is greater than scrape_interval")
    headers, basic = _auth(raw, where, defaults.base_dir)
    file_sd = []
    for j, sd in enumerate(raw.get("file_sd_configs") or []):
        files = sd.get("files") if isinstance(sd, dict) else None
        if not isinstance(files, list) or not files:
            raise ScrapeConfigError(f"{where}: file_sd_configs[{j}] needs files, a list")
        refresh = DEFAULT_FILE_SD_REFRESH_S
        if "refresh_interval" in sd:
            refresh = parse_duration_s(sd["refresh_interval"], f"{where}: refresh_interval")
        file_sd.append(FileSD(tuple(str(f) for f in files), refresh))
    static: list[StaticTarget] = []
    for j, group in enumerate(raw.get("static_configs") or []):
        static += parse_target_groups([group], f"{where}: static_configs[{j}]")
    return JobConfig(
        job_name=name,
        scheme=scheme,
        metrics_path=path,
        params={str(k): [str(x) for x in v] for k, v in params.items()},
        interval_s=interval,
        timeout_s=timeout,
        headers=headers,
        basic_auth=basic,
        metric_relabel=parse_rules(
            raw.get("metric_relabel_configs"), f"{where}: metric_relabel_configs"
        ),
        sample_limit=_count(
            raw.get("sample_limit", defaults.sample_limit), f"{where}: sample_limit"
        )
        if "sample_limit" in raw
        else defaults.sample_limit,
        body_limit_bytes=parse_size_bytes(raw["body_size_limit"], f"{where}: body_size_limit")
        if "body_size_limit" in raw
        else defaults.body_limit_bytes,
        honor_labels=bool(raw.get("honor_labels", False)),
        static_targets=tuple(static),
        file_sd=tuple(file_sd),
    )


def load_scrape_config(raw_config: RawConfig) -> ScrapeConfig:
    """Parse `global` and `scrape_configs`; errors name the file, the job and the problem."""
    src = str(raw_config.path) if raw_config.path else "<config>"
    glob = raw_config.section("global") or {}
    if not isinstance(glob, dict):
        raise ScrapeConfigError(f"{src}: global must be a mapping")
    interval = DEFAULT_INTERVAL_S
    if "scrape_interval" in glob:
        interval = parse_duration_s(glob["scrape_interval"], f"{src}: global.scrape_interval")
    timeout = min(DEFAULT_TIMEOUT_S, interval)
    if "scrape_timeout" in glob:
        timeout = parse_duration_s(glob["scrape_timeout"], f"{src}: global.scrape_timeout")
    if timeout > interval:
        raise ScrapeConfigError(f"{src}: global.scrape_timeout is greater than scrape_interval")
    defaults = ScrapeConfig(
        interval_s=interval,
        timeout_s=timeout,
        body_limit_bytes=parse_size_bytes(
            glob.get("body_size_limit", DEFAULT_BODY_LIMIT_BYTES), f"{src}: global.body_size_limit"
        ),
        sample_limit=_count(glob.get("sample_limit", 0), f"{src}: global.sample_limit"),
        base_dir=raw_config.base_dir,
        source=src,
    )
    raw_jobs = raw_config.section("scrape_configs") or []
    if not isinstance(raw_jobs, list):
        raise ScrapeConfigError(f"{src}: scrape_configs must be a list of jobs")
    jobs = [_job(raw, i, defaults) for i, raw in enumerate(raw_jobs)]
    seen: set[str] = set()
    for job in jobs:
        if job.job_name in seen:
            raise ScrapeConfigError(f"{src}: job {job.job_name!r} is defined twice")
        seen.add(job.job_name)
    raw_keep = DEFAULT_RAW_RETENTION_S
    if "raw_retention" in glob:
        raw_keep = parse_duration_s(glob["raw_retention"], f"{src}: global.raw_retention")
    rollup_keep = DEFAULT_ROLLUP_RETENTION_S
    if "rollup_retention" in glob:
        rollup_keep = parse_duration_s(glob["rollup_retention"], f"{src}: global.rollup_retention")
    return ScrapeConfig(
        interval_s=defaults.interval_s,
        timeout_s=defaults.timeout_s,
        body_limit_bytes=defaults.body_limit_bytes,
        sample_limit=defaults.sample_limit,
        jobs=tuple(jobs),
        raw_retention_s=raw_keep,
        rollup_retention_s=rollup_keep,
        base_dir=defaults.base_dir,
        source=src,
    )
