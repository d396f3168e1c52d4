"""The catalog's tables (SQLAlchemy Core). Alembic migrations in `migrations/` create and upgrade them.

An asset is one row: the fields people filter on are columns, the nested parts of the asset model (editions with
their streams and subtitles, images, credits, ratings, geoblock, tags, genres, custom fields) are JSON columns.
The CMS reads and writes an asset whole, and an import writes one row per item instead of ten.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite has no timezone type)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the catalog; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class CatalogJSON(TypeDecorator[Any]):
    """JSON, stored as JSONB on PostgreSQL (SQL NULL for None on both).

    The same column types as `JSON().with_variant(JSONB(), "postgresql")`, but the PostgreSQL type is made only when a
    PostgreSQL dialect asks for it: importing `sqlalchemy.dialects.postgresql` (all its drivers with it) cost every
    catalog command on the SQLite default a tenth of a second.
    """

    impl = JSON(none_as_null=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(self.impl)


def _json() -> Any:
    return CatalogJSON()


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

services = Table(
    "services",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

sources = Table(
    "sources",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("service", String(100), ForeignKey("services.name"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("url", Text, nullable=False),
    Column("every_seconds", Integer),
    Column("cron", String(200)),
    Column("truth", String(40), nullable=False),
    Column("on_missing", String(20), nullable=False),
    Column("max_removal_fraction", Float, nullable=False),
    # The largest share of an import's items that may fail before the source's `failed_share` check warns.
    Column("max_failed_fraction", Float, nullable=False, server_default="0.1"),
    Column("asset_type", String(40), nullable=False),
    Column("options", _json(), nullable=False),
    Column("credentials", Text),  # Fernet token of a JSON object; never stored in clear
    Column("sign_streams", String(40)),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("last_run_at", UTCDateTime()),
    Column("next_run_at", UTCDateTime()),
    Column("last_success_at", UTCDateTime()),  # the last import that was not failed (not a dry run)
    Column("last_status", String(20)),
    Column("last_error", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("content_digest", String(64)),
    # Per-connector cursors (time of the last full sweep, updated-since mark) for incremental fetching.
    Column("sync_state", _json()),
    # Auto-pause: after `pause_after` failed imports in a row (0: never) the heartbeat skips the source until it
    # is resumed; `paused_at` and `paused_reason` say since when and why.
    Column("pause_after", Integer, nullable=False, server_default="10"),
    Column("failures_in_a_row", Integer, nullable=False, server_default="0"),
    Column("paused_at", UTCDateTime()),
    Column("paused_reason", Text),
    UniqueConstraint("service", "name"),
    Index("ix_sources_due", "enabled", "next_run_at"),
)

assets = Table(
    "assets",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("service", String(100), ForeignKey("services.name"), nullable=False),
    Column("source_id", String(40), ForeignKey("sources.id", ondelete="SET NULL")),
    Column("external_id", Text, nullable=False),
    Column("type", String(40), nullable=False),
    Column("title", Text),
    Column("description", Text),
    Column("short_description", Text),
    Column("duration", Integer),
    Column("release_date", Date),
    Column("published_at", UTCDateTime()),
    Column("availability", _json()),
    Column("images", _json(), nullable=False),
    Column("tags", _json(), nullable=False),
    Column("genres", _json(), nullable=False),
    Column("credits", _json(), nullable=False),
    Column("ratings", _json(), nullable=False),
    Column("geoblock", _json()),
    Column("editions", _json(), nullable=False),
    Column("series", Text),
    Column("season", Integer),
    Column("episode", Integer),
    Column("custom", _json(), nullable=False),
    Column("status", String(20), nullable=False),
    Column("content_hash", String(64)),
    Column("edited_fields", _json(), nullable=False),
    # An 8-hex-digit hash of the last imported value of each field, in model.ASSET_FIELDS order: the base of the
    # three-way merge of `update-unless-edited` (eight bytes a field, not a second copy of the asset).
    Column("origin_hashes", String(400)),
    # The connector's digest of the raw item the asset was last imported from (NULL when unknown): an import that
    # finds the same digest again skips mapping the item (see connectors.base.KnownItem).
    Column("origin_digest", String(32)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("last_imported_at", UTCDateTime()),
    UniqueConstraint("source_id", "external_id"),
    Index("ix_assets_service_type", "service", "type"),
    Index("ix_assets_external_id", "external_id"),
)
# The keyset pages of asset lists, newest first: `created_at DESC, id` (see Catalog.list_assets_page).
Index("ix_assets_service_created", assets.c.service, assets.c.created_at.desc(), assets.c.id)
Index("ix_assets_source_created", assets.c.source_id, assets.c.created_at.desc(), assets.c.id)

# One row while an import of the source runs: a CLI import and a scheduled one cannot interleave. A lock whose
# holder died expires at `expires_at`.
source_locks = Table(
    "source_locks",
    metadata,
    Column("source_id", String(40), ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("acquired_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

import_results = Table(
    "import_results",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("source_id", String(40), nullable=False),  # no foreign key: history outlives a deleted source
    Column("service", String(100), nullable=False),
    Column("run_id", String(64)),
    Column("status", String(20), nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("error", Text),
    Column("notes", _json(), nullable=False),
    Column("held_back", _json()),  # removals the guard held back: {"action", "count", "reason"}
    Column("created", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("unpublished", Integer, nullable=False),
    Column("deleted", Integer, nullable=False),
    # Retention (catalog/retention.py): how many `unchanged` items a pass removed, and when it looked at the result.
    # `pruned_at` is set even when nothing was removed, so the next pass does not look again.
    Column("items_pruned", Integer, nullable=False, server_default="0"),
    Column("pruned_at", UTCDateTime()),
    Index("ix_import_results_source_started", "source_id", "started_at"),
    Index("ix_import_results_service_started", "service", "started_at"),
    Index("ix_import_results_run_id", "run_id"),
    Index("ix_import_results_pruned_at", "pruned_at"),
    Index("ix_import_results_started", "started_at"),
)

import_result_items = Table(
    "import_result_items",
    metadata,
    Column("result_id", String(40), ForeignKey("import_results.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("external_id", Text),
    Column("asset_id", String(40)),
    Column("outcome", String(20), nullable=False),
    Column("reason", Text),
    Column("errors", _json()),
    Column("kept_fields", _json()),
    Column("data", _json()),
    # A row may stand for a run of consecutive plain items (one outcome, no reason, errors, kept fields or data):
    # `members` lists their [external id, asset id] in order, the first at `position`, and `span` says how many
    # items the row is (1 for a row of its own item). An unchanged re-import of 100k items then writes 100 rows,
    # not 100k; readers expand the runs (catalog/results.py), so a result's items read exactly as before.
    Column("span", Integer, nullable=False, server_default="1"),
    Column("members", _json()),
)

# Where a service's catalog is exported to (an S3 location), in which format, how often. `lock_holder` and
# `lock_expires_at` make one export of a target run at a time, whoever launched it; a dead holder's lock expires.
export_targets = Table(
    "export_targets",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("service", String(100), ForeignKey("services.name"), nullable=False),
    Column("url", Text, nullable=False),
    Column("format", String(40), nullable=False),
    Column("every_seconds", Integer),
    Column("cron", String(200)),
    Column("source_id", String(40)),  # a filter, not a reference: a deleted source leaves nothing to export
    Column("asset_type", String(40)),
    Column("options", _json(), nullable=False),
    Column("credentials", Text),  # Fernet token of a JSON object; never stored in clear
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("last_run_at", UTCDateTime()),
    Column("next_run_at", UTCDateTime()),
    Column("last_status", String(20)),
    Column("last_error", Text),
    Column("lock_holder", String(64)),
    Column("lock_expires_at", UTCDateTime()),
    Index("ix_export_targets_due", "enabled", "next_run_at"),
    Index("ix_export_targets_service", "service"),
)

export_results = Table(
    "export_results",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("target_id", String(40), nullable=False),  # no foreign key: history outlives a deleted target
    Column("service", String(100), nullable=False),
    Column("run_id", String(64)),
    Column("status", String(20), nullable=False),
    Column("format", String(40), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("count", Integer, nullable=False),
    Column("objects", _json(), nullable=False),
    Column("manifest_key", Text),
    Column("error", Text),
    Index("ix_export_results_target_started", "target_id", "started_at"),
    Index("ix_export_results_run_id", "run_id"),
)

# API keys of the HTTP API, one service each. Only a SHA-256 of the key is stored: the key itself is shown once,
# when it is made. A revoked key keeps its row (`revoked_at`) so the history says which key was used until when.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("service", String(100), ForeignKey("services.name"), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    UniqueConstraint("key_hash"),
    Index("ix_api_keys_service", "service"),
)

# Where a service's notifications go: an HTTPS endpoint, the events it wants, and the secret its deliveries are
# signed with (a Fernet token, like source credentials: the secret itself is shown once, when it is made).
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("service", String(100), ForeignKey("services.name"), nullable=False),
    Column("url", Text, nullable=False),
    Column("events", _json(), nullable=False),
    Column("secret", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("service", "url"),
)

# The outbox: one row per event and webhook, written in the transaction that records the import's bookkeeping, so
# an event is never lost and never sent twice by a crash; whoever delivers (the `webhook_deliveries` sensor,
# `data-agent services deliver`) claims due rows by moving `next_attempt_at` on, then records the attempt.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("webhook_id", String(40), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("service", String(100), nullable=False),
    Column("event", String(20), nullable=False),
    Column("source_id", String(40)),
    Column("result_id", String(40)),
    Column("body", _json(), nullable=False),
    Column("status", String(20), nullable=False),  # pending, delivered, failed (gave up)
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("next_attempt_at", UTCDateTime()),
    Column("delivered_at", UTCDateTime()),
    Column("last_error", Text),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_service_created", "service", "created_at"),
)

# Every attempt at a delivery: when, what the endpoint answered (or why nothing came back), how long it took.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("delivery_id", String(40), ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
)

# A source's push-trigger secret (`POST /hooks/{service}/{source_id}`): Fernet-encrypted like credentials, because
# checking an HMAC signature of a body needs the secret itself (a hash would not do). Shown once when made.
source_hooks = Table(
    "source_hooks",
    metadata,
    Column("source_id", String(40), ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("secret", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_pushed_at", UTCDateTime()),
)
