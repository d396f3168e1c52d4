"""indexes for keyset pages of asset lists, newest first

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_assets_service_created", "assets", ["service", sa.text("created_at DESC"), "id"])
    op.create_index("ix_assets_source_created", "assets", ["source_id", sa.text("created_at DESC"), "id"])


def downgrade() -> None:
    op.drop_index("ix_assets_source_created", table_name="assets")
    op.drop_index("ix_assets_service_created", table_name="assets")
