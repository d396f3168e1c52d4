"""merge the branches of 0002: export targets, sync state, held-back removals, API keys

Revision ID: 0008
Revises: 0003, 0004, 0006, 0007
"""

from __future__ import annotations

revision = "0008"
down_revision = ("0003", "0004", "0006", "0007")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the branches touch different tables."""


def downgrade() -> None:
    """Nothing to change."""
