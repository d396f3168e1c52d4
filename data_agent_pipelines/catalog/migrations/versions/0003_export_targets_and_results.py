"""export targets and export results

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import data_agent_pipelines.catalog.schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    utc = data_agent_pipelines.catalog.schema.UTCDateTime
    op.create_table(
        "export_targets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=40), nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=True),
        sa.Column("cron", sa.String(length=200), nullable=True),
        sa.Column("source_id", sa.String(length=40), nullable=True),
        sa.Column("asset_type", sa.String(length=40), nullable=True),
        sa.Column("options", _json(), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", utc(timezone=True), nullable=False),
        sa.Column("updated_at", utc(timezone=True), nullable=False),
        sa.Column("last_run_at", utc(timezone=True), nullable=True),
        sa.Column("next_run_at", utc(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=20), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lock_holder", sa.String(length=64), nullable=True),
        sa.Column("lock_expires_at", utc(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["service"], ["services.name"], name=op.f("fk_export_targets_service_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_targets")),
    )
    with op.batch_alter_table("export_targets", schema=None) as batch_op:
        batch_op.create_index("ix_export_targets_due", ["enabled", "next_run_at"], unique=False)
        batch_op.create_index("ix_export_targets_service", ["service"], unique=False)
    op.create_table(
        "export_results",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("target_id", sa.String(length=40), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=40), nullable=False),
        sa.Column("started_at", utc(timezone=True), nullable=False),
        sa.Column("finished_at", utc(timezone=True), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("objects", _json(), nullable=False),
        sa.Column("manifest_key", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_results")),
    )
    with op.batch_alter_table("export_results", schema=None) as batch_op:
        batch_op.create_index("ix_export_results_target_started", ["target_id", "started_at"], unique=False)
        batch_op.create_index("ix_export_results_run_id", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_table("export_results")
    op.drop_table("export_targets")
