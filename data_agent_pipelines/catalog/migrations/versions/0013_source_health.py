"""per-source health: the failed-share threshold and the time of the last successful import

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import data_agent_pipelines.catalog.schema

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_failed_fraction", sa.Float(), nullable=False, server_default="0.1"))
        batch_op.add_column(
            sa.Column("last_success_at", data_agent_pipelines.catalog.schema.UTCDateTime(timezone=True), nullable=True)
        )
    # The freshness check reads `last_success_at`; a source that imported well before this revision keeps that
    # success rather than turning stale at once. Dry runs change nothing, so they are no success of the source.
    sources = sa.table("sources", sa.column("id"), sa.column("last_success_at"))
    results = sa.table(
        "import_results", sa.column("source_id"), sa.column("status"), sa.column("dry_run"), sa.column("finished_at")
    )
    last_success = (
        sa.select(sa.func.max(results.c.finished_at))
        .where(results.c.source_id == sources.c.id, results.c.status != "failed", results.c.dry_run == sa.false())
        .scalar_subquery()
    )
    op.execute(sources.update().values(last_success_at=last_success))


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("last_success_at")
        batch_op.drop_column("max_failed_fraction")
