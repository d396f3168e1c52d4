"""removals held back by the guard, on import results

Revision ID: 0006
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_results", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("held_back", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("import_results", schema=None) as batch_op:
        batch_op.drop_column("held_back")
