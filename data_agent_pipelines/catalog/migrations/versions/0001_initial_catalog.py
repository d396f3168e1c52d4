"""initial catalog

Revision ID: 0001
Revises:
Create Date: 2026-11-28 08:03:43.760286
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import data_agent_pipelines.catalog.schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_results",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("started_at", data_agent_pipelines.catalog.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", data_agent_pipelines.catalog.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("notes", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("unpublished", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_results")),
    )
    with op.batch_alter_table("import_results", schema=None) as batch_op:
        batch_op.create_index("ix_import_results_service_started", ["service", "started_at"], unique=False)
        batch_op.create_index("ix_import_results_source_started", ["source_id", "started_at"], unique=False)
        batch_op.create_index("ix_import_results_run_id", ["run_id"], unique=False)

    op.create_table(
        "services",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", data_agent_pipelines.catalog.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_services")),
    )
    op.create_table(
        "import_result_items",
        sa.Column("result_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("asset_id", sa.String(length=40), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("errors", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("kept_fields", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["import_results.id"],
            name=op.f("fk_import_result_items_result_id_import_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("result_id", "position", name=op.f("pk_import_result_items")),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=True),
        sa.Column("cron", sa.String(length=200), nullable=True),
        sa.Column("truth", sa.String(length=40), nullable=False),
        sa.Column("on_missing", sa.String(length=20), nullable=False),
        sa.Column("max_removal_fraction", sa.Float(), nullable=False),
        sa.Column("asset_type", sa.String(length=40), nullable=False),
        sa.Column("options", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=True),
        sa.Column("sign_streams", sa.String(length=40), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", data_agent_pipelines.catalog.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", data_agent_pipelines.catalog.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", data_agent_pipelines.catalog.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_run_at", data_agent_pipelines.catalog.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=20), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("content_digest", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["service"], ["services.name"], name=op.f("fk_sources_service_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("service", "name", name=op.f("uq_sources_service_name")),
    )
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.create_index("ix_sources_due", ["enabled", "next_run_at"], unique=False)

    op.create_table(
        "assets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=True),
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("short_description", sa.Text(), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("release_date", sa.Date(), nullable=True),
        sa.Column("published_at", data_agent_pipelines.catalog.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("availability", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("images", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("tags", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("genres", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("credits", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("ratings", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("geoblock", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("editions", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("series", sa.Text(), nullable=True),
        sa.Column("season", sa.Integer(), nullable=True),
        sa.Column("episode", sa.Integer(), nullable=True),
        sa.Column("custom", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("edited_fields", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", data_agent_pipelines.catalog.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", data_agent_pipelines.catalog.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_imported_at", data_agent_pipelines.catalog.schema.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["service"], ["services.name"], name=op.f("fk_assets_service_services")),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_assets_source_id_sources"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
        sa.UniqueConstraint("source_id", "external_id", name=op.f("uq_assets_source_id_external_id")),
    )
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.create_index("ix_assets_external_id", ["external_id"], unique=False)
        batch_op.create_index("ix_assets_service_type", ["service", "type"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_index("ix_assets_service_type")
        batch_op.drop_index("ix_assets_external_id")

    op.drop_table("assets")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_index("ix_sources_due")

    op.drop_table("sources")
    op.drop_table("import_result_items")
    op.drop_table("services")
    with op.batch_alter_table("import_results", schema=None) as batch_op:
        batch_op.drop_index("ix_import_results_source_started")
        batch_op.drop_index("ix_import_results_run_id")
        batch_op.drop_index("ix_import_results_service_started")

    op.drop_table("import_results")
