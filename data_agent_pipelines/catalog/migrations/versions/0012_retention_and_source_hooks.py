"""retention bookkeeping on import results; push-trigger secrets of sources

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import data_agent_pipelines.catalog.schema

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = data_agent_pipelines.catalog.schema.UTCDateTime
    with op.batch_alter_table("import_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("items_pruned", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("pruned_at", utc(timezone=True), nullable=True))
        batch_op.create_index("ix_import_results_pruned_at", ["pruned_at"], unique=False)
        batch_op.create_index("ix_import_results_started", ["started_at"], unique=False)
    op.create_table(
        "source_hooks",
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", utc(timezone=True), nullable=False),
        sa.Column("last_pushed_at", utc(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_source_hooks_source_id_sources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_source_hooks")),
    )


def downgrade() -> None:
    op.drop_table("source_hooks")
    with op.batch_alter_table("import_results", schema=None) as batch_op:
        batch_op.drop_index("ix_import_results_started")
        batch_op.drop_index("ix_import_results_pruned_at")
        batch_op.drop_column("pruned_at")
        batch_op.drop_column("items_pruned")
