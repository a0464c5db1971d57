"""collector: target.next_scrape_at, the claim that lets several workers share the targets

Revision ID: collector_0003
Revises: collector_0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "collector_0003"
down_revision = "collector_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("target") as batch:
        batch.add_column(sa.Column("next_scrape_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("target") as batch:
        batch.drop_column("next_scrape_at")
