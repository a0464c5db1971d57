"""plan: a deploy is unique on service + version + at; export links carry a claim

Revision ID: plan_0002
Revises: plan_0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "plan_0002"
down_revision = "plan_0001"
branch_labels = None
depends_on = None


def _swap_deploy_constraint(drop: str, create: str, columns: list[str]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(drop, "deploy", type_="unique")
        op.create_unique_constraint(create, "deploy", columns)
        return
    # SQLite rebuilds the table to change a constraint. Migrations run in one transaction,
    # where PRAGMA foreign_keys cannot be turned off, so dropping the old table runs
    # item.released_in's ON DELETE SET NULL: keep those links aside and put them back.
    op.execute(
        "CREATE TEMP TABLE plan_0002_released AS "
        "SELECT id, released_in FROM item WHERE released_in IS NOT NULL"
    )
    with op.batch_alter_table("deploy", recreate="always") as batch:
        batch.drop_constraint(drop, type_="unique")
        batch.create_unique_constraint(create, columns)
    op.execute(
        "UPDATE item SET released_in = (SELECT r.released_in FROM plan_0002_released r "
        "WHERE r.id = item.id) WHERE id IN (SELECT id FROM plan_0002_released)"
    )
    op.execute("DROP TABLE plan_0002_released")


def upgrade() -> None:
    _swap_deploy_constraint(
        "uq_deploy_service_version", "uq_deploy_service_version_at", ["service", "version", "at"]
    )
    with op.batch_alter_table("export_link") as batch:
        batch.add_column(sa.Column("claimed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("claim_token", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("export_link") as batch:
        batch.drop_column("claim_token")
        batch.drop_column("claimed_at")
    # Fails when a service has two deploys of one version (rollbacks): nothing is dropped.
    _swap_deploy_constraint(
        "uq_deploy_service_version_at", "uq_deploy_service_version", ["service", "version"]
    )
