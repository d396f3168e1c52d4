"""A source: where a service's assets come from (a feed or a platform account), how often, under which policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# What stands in place of a secret wherever settings are shown (names of credentials, never their values).
REDACTED = "<redacted>"


@dataclass(slots=True)
class Source:
    """A source row with its credentials decrypted (in memory only: never print or log `credentials`)."""

    id: str
    service: str
    name: str
    kind: str
    url: str
    every_seconds: int | None = 3600
    cron: str | None = None
    truth: str = "importer"
    on_missing: str = "keep"
    max_removal_fraction: float = 0.2
    max_failed_fraction: float = 0.1
    asset_type: str = "movie"
    options: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    sign_streams: str | None = None
    enabled: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_run_at: datetime | None = None
    next_run_at: datetime | None = None
    last_success_at: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_digest: str | None = None
    sync_state: dict[str, Any] = field(default_factory=dict)  # connector cursors, saved after a successful import
