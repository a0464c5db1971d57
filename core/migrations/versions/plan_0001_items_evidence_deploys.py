"""plan: items, evidence, deploys, export links

Revision ID: plan_0001
Revises: 0001_foundation
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "plan_0001"
down_revision = "0001_foundation"
branch_labels = ("plan",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deploy",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("service", sa.String(120), nullable=False),
        sa.Column("version", sa.String(120), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("url", sa.String(2048), nullable=True),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("regression_flag", sa.Boolean(), nullable=False),
        sa.Column("regression_note", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("service", "version", name="uq_deploy_service_version"),
    )
    op.create_index("ix_deploy_service_at", "deploy", ["service", "at"])
    op.create_table(
        "item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("service", sa.String(120), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("score_breakdown", sa.Text(), nullable=False),
        sa.Column("effort", sa.Float(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("origin_key", sa.String(255), nullable=True, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column(
            "released_in",
            sa.Integer(),
            sa.ForeignKey("deploy.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("verify_after", UTCDateTime(), nullable=True),
        sa.Column("verdict", sa.Text(), nullable=True),
        sa.Column("regression_note", sa.Text(), nullable=True),
        sa.Column(
            "merged_into_id",
            sa.Integer(),
            sa.ForeignKey("item.id", ondelete="SET NULL"),
            nullable=True,
        ),
    )
    op.create_index("ix_item_status", "item", ["status"])
    op.create_index("ix_item_service", "item", ["service"])
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "item_id", sa.Integer(), sa.ForeignKey("item.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref_id", sa.String(64), nullable=False),
        sa.Column("ref_key", sa.String(255), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("reporter", sa.String(64), nullable=True),
        sa.Column("affected_requests", sa.Float(), nullable=True),
        sa.Column("affected_share", sa.Float(), nullable=True),
        sa.Column("severity", sa.String(16), nullable=True),
        sa.Column("sentiment", sa.Float(), nullable=True),
        sa.Column("observed_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("item_id", "kind", "ref_id", name="uq_evidence_item_kind_ref"),
    )
    op.create_index("ix_evidence_kind_ref_key", "evidence", ["kind", "ref_key"])
    op.create_table(
        "export_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "item_id", sa.Integer(), sa.ForeignKey("item.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(120), nullable=True),
        sa.Column("external_url", sa.String(2048), nullable=True),
        sa.Column("last_exported_at", UTCDateTime(), nullable=True),
        sa.Column("last_status", sa.String(16), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("item_id", "target", name="uq_export_link_item_target"),
    )


def downgrade() -> None:
    op.drop_table("export_link")
    op.drop_table("evidence")
    op.drop_index("ix_item_service", table_name="item")
    op.drop_index("ix_item_status", table_name="item")
    op.drop_table("item")
    op.drop_index("ix_deploy_service_at", table_name="deploy")
    op.drop_table("deploy")
