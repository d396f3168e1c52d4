"""import result items: a row may stand for a run of plain items (`span`, `members`)

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    json_type = _json()
    with op.batch_alter_table("import_result_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("span", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("members", json_type, nullable=True))


def downgrade() -> None:
    # The runs are expanded into rows of their own first: a downgraded catalog keeps every item.
    items = sa.table(
        "import_result_items",
        sa.column("result_id", sa.String),
        sa.column("position", sa.Integer),
        sa.column("external_id", sa.Text),
        sa.column("asset_id", sa.String),
        sa.column("outcome", sa.String),
        sa.column("span", sa.Integer),
        sa.column("members", _json()),
    )
    conn = op.get_bind()
    runs = conn.execute(
        sa.select(items.c.result_id, items.c.position, items.c.outcome, items.c.members).where(items.c.span > 1)
    ).all()
    for result_id, position, outcome, members in runs:
        conn.execute(sa.delete(items).where(items.c.result_id == result_id, items.c.position == position))
        conn.execute(
            sa.insert(items),
            [
                {
                    "result_id": result_id,
                    "position": position + offset,
                    "outcome": outcome,
                    "external_id": external_id,
                    "asset_id": asset_id,
                    "span": 1,
                    "members": None,
                }
                for offset, (external_id, asset_id) in enumerate(members)
            ],
        )
    with op.batch_alter_table("import_result_items", schema=None) as batch_op:
        batch_op.drop_column("members")
        batch_op.drop_column("span")
