"""Settings: the only module that reads the environment; every value is validated here."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from core.errors import SettingsError


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


DEFAULT_DATABASE_URL = "sqlite:///var/opsloop.db"

# name, default, meaning: the README's configuration table is checked against this list.
SETTINGS_DOC: tuple[tuple[str, str, str], ...] = (
    (
        "DATABASE_URL",
        DEFAULT_DATABASE_URL,
        "SQLAlchemy URL of the database: `sqlite:///path` or `postgresql://user@host/db`.",
    ),
    (
        "OPSLOOP_SECRET_KEY",
        "generated once into `var/secret_key`",
        "Key that signs sessions and CSRF tokens. Set it (same value) on every web process.",
    ),
    (
        "OPSLOOP_CONFIG",
        "(none)",
        "Path of the YAML config-as-code file (scrape configs, services, rules, sources, ...).",
    ),
    ("OPSLOOP_LOG_FORMAT", "text", "`text` or `json` (one JSON object per line)."),
    ("OPSLOOP_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR."),
    ("OPSLOOP_HOST", "127.0.0.1", "Address `opsloop serve` / `opsloop web` listens on."),
    ("OPSLOOP_PORT", "8000", "Port `opsloop serve` / `opsloop web` listens on."),
    ("OPSLOOP_THREADS", "8", "Worker threads of the embedded WSGI server (waitress)."),
    ("OPSLOOP_WEB_WORKERS", "2", "gunicorn worker processes of `opsloop web`."),
    ("OPSLOOP_VAR_DIR", "var", "Folder for the SQLite file, the generated secret key and uploads."),
    (
        "OPSLOOP_BASE_URL",
        "http://HOST:PORT",
        "Public URL of opsloop, used in links sent out (notifications, exports).",
    ),
    (
        "REDIS_URL",
        "(none)",
        "When set, rate limits are shared across web processes through this Redis.",
    ),
    (
        "OPSLOOP_MAX_BODY_BYTES",
        "10485760",
        "Largest request body accepted (uploads, webhooks); larger gets 413.",
    ),
)


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = ""
    config_path: Path | None = None
    log_format: LogFormat = LogFormat.TEXT
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000
    threads: int = 8
    web_workers: int = 2
    var_dir: Path = Path("var")
    base_url: str = ""
    redis_url: str | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def public_url(self) -> str:
        return self.base_url or f"http://{self.host}:{self.port}"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise SettingsError naming the first bad variable."""
    env = os.environ if environ is None else environ
    var_dir = Path(env.get("OPSLOOP_VAR_DIR", "var") or "var")
    database_url = _database_url(env.get("DATABASE_URL", "") or DEFAULT_DATABASE_URL)
    config_path = _config_path(env.get("OPSLOOP_CONFIG", ""))
    log_format = _choice(env, "OPSLOOP_LOG_FORMAT", "text", {f.value for f in LogFormat})
    log_level = _choice(
        env, "OPSLOOP_LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"}, upper=True
    )
    host = env.get("OPSLOOP_HOST", "127.0.0.1") or "127.0.0.1"
    port = _int(env, "OPSLOOP_PORT", 8000, 1, 65535)
    threads = _int(env, "OPSLOOP_THREADS", 8, 1, 256)
    web_workers = _int(env, "OPSLOOP_WEB_WORKERS", 2, 1, 64)
    max_body = _int(env, "OPSLOOP_MAX_BODY_BYTES", 10 * 1024 * 1024, 1024, 1 << 31)
    base_url = _base_url(env.get("OPSLOOP_BASE_URL", ""))
    redis_url = _redis_url(env.get("REDIS_URL", ""))
    secret_key = env.get("OPSLOOP_SECRET_KEY", "")
    if secret_key and len(secret_key) < 16:
        raise SettingsError("OPSLOOP_SECRET_KEY", "must be at least 16 characters long")
    return Settings(
        database_url=database_url,
        secret_key=secret_key,
        config_path=config_path,
        log_format=LogFormat(log_format),
        log_level=log_level,
        host=host,
        port=port,
        threads=threads,
        web_workers=web_workers,
        var_dir=var_dir,
        base_url=base_url,
        redis_url=redis_url,
        max_body_bytes=max_body,
    )


def ensure_secret_key(settings: Settings) -> Settings:
    """Return settings with a secret key: the configured one, or one kept under var/."""
    if settings.secret_key:
        return settings
    path = settings.var_dir / "secret_key"
    try:
        if path.exists():
            key = path.read_text().strip()
        else:
            settings.var_dir.mkdir(parents=True, exist_ok=True)
            key = secrets.token_urlsafe(48)
            path.write_text(key + "\n")
            path.chmod(0o600)
    except OSError as exc:
        raise SettingsError(
            "OPSLOOP_SECRET_KEY", f"unset, and {path} cannot be used: {exc}"
        ) from exc
    return settings.with_overrides(secret_key=key)


def _database_url(raw: str) -> str:
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme in {"sqlite", "sqlite+pysqlite"}:
        if not raw.startswith(f"{parts.scheme}:///"):
            raise SettingsError("DATABASE_URL", f"{raw!r} is not sqlite:///path/to/file.db")
        return raw
    if scheme in {"postgres", "postgresql", "postgresql+psycopg"}:
        if not parts.hostname and "host=" not in parts.query:
            raise SettingsError("DATABASE_URL", f"{raw!r} names no host")
        rest = raw.split("://", 1)[1]
        return f"postgresql+psycopg://{rest}"
    raise SettingsError(
        "DATABASE_URL",
        f"unsupported scheme {parts.scheme or '(none)'!r}: use sqlite:///... or postgresql://...",
    )


def _config_path(raw: str) -> Path | None:
    if not raw:
        return None
    path = Path(raw)
    if not path.is_file():
        raise SettingsError("OPSLOOP_CONFIG", f"{raw!r} is not a readable file")
    return path


def _choice(
    env: Mapping[str, str], name: str, default: str, allowed: set[str], upper: bool = False
) -> str:
    value = env.get(name, "") or default
    value = value.upper() if upper else value.lower()
    if value not in allowed:
        raise SettingsError(name, f"{value!r} is not one of {', '.join(sorted(allowed))}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(name, f"{raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise SettingsError(name, f"{value} is outside {low}..{high}")
    return value


def _base_url(raw: str) -> str:
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise SettingsError("OPSLOOP_BASE_URL", f"{raw!r} is not an http(s) URL")
    return raw.rstrip("/")


def _redis_url(raw: str) -> str | None:
    if not raw:
        return None
    if urlsplit(raw).scheme not in {"redis", "rediss", "unix"}:
        raise SettingsError("REDIS_URL", f"{raw!r} is not a redis:// URL")
    return raw
