"""Flask extensions shared by blueprints (rate limiter); storage in Redis when configured."""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from core.settings import Settings

limiter = Limiter(get_remote_address, default_limits=[], headers_enabled=True)


def init_extensions(app: Flask, settings: Settings) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = settings.redis_url or "memory://"
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
