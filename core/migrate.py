"""Migrations: upgrade a database to every head, and tell whether it is current."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine | None = None, metadata: MetaData | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    if metadata is not None:
        cfg.attributes["target_metadata"] = metadata
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every pending migration (all branches: each area owns a branch of its own)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def pending_heads(engine: Engine) -> set[str]:
    """Heads of the migration scripts that the database has not reached; empty when current."""
    script = ScriptDirectory.from_config(alembic_config())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    wanted = set(script.get_heads())
    reached: set[str] = set()
    for rev in current:
        reached.update(r.revision for r in script.iterate_revisions(rev, "base"))
    return wanted - reached
