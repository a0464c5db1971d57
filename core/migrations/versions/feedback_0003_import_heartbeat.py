"""feedback: import jobs carry a heartbeat, so an interrupted one can be told apart

Revision ID: feedback_0003
Revises: feedback_0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "feedback_0003"
down_revision = "feedback_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feedback_import") as batch:
        batch.add_column(sa.Column("heartbeat_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feedback_import") as batch:
        batch.drop_column("heartbeat_at")
