"""The runtime: what every process shares — settings, engine, config file, own metrics, clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from core.clock import utcnow
from core.config import RawConfig, load_config
from core.db import engine_from_settings
from core.logs import configure_logging
from core.metrics import OpsMetrics
from core.migrate import upgrade
from core.settings import Settings, ensure_secret_key, load_settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    config: RawConfig = field(default_factory=RawConfig)
    metrics: OpsMetrics = field(default_factory=OpsMetrics)
    clock: Callable[[], datetime] = utcnow
    demo: bool = False
    # Parsed per-area configuration and long-lived objects, keyed by area name
    # ("collector", "alerts", ...), filled in by the composition root.
    areas: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock()


def build_runtime(
    settings: Settings | None = None,
    *,
    migrate: bool = False,
    demo: bool = False,
    configure_logs: bool = True,
) -> Runtime:
    """Settings (from the environment when not given), logging, engine, config file."""
    settings = ensure_secret_key(settings or load_settings())
    if configure_logs:
        configure_logging(settings)
    config = load_config(settings.config_path)
    engine = engine_from_settings(settings)
    if migrate:
        upgrade(engine)
    return Runtime(settings=settings, engine=engine, config=config, metrics=OpsMetrics(), demo=demo)
