"""A source: where a service's assets come from (a feed or a platform account), how often, under which policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# What stands in place of a secret wherever settings are shown (names of credentials, never their values).
REDACTED = "<redacted>"
# A source that fails this many imports in a row is paused, unless its settings say otherwise.
DEFAULT_PAUSE_AFTER = 10


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
    pause_after: int = DEFAULT_PAUSE_AFTER  # failed imports in a row that pause the source; 0: never
    failures_in_a_row: int = 0
    paused_at: datetime | None = None
    paused_reason: str | None = None


@dataclass(frozen=True, slots=True)
class RunRecorded:
    """What recording an import on its source changed: its streak of failures, and whether it paused or recovered.

    `events` are the notifications the import raises, in the order they happened: `failed` or `partial` (the
    import itself), `recovered` (the first import that did not fail after one or more that did), `paused` (the
    failure that reached the source's `pause_after`). Each transition happens once, in the transaction that
    records it, so it is reported once, not at every interval.
    """

    source_id: str
    status: str
    failures_in_a_row: int
    previous_failures: int
    paused: bool = False  # this import paused the source
    recovered: bool = False  # this import ended a streak of failures (and lifted a pause, if there was one)
    paused_reason: str | None = None

    @property
    def events(self) -> tuple[str, ...]:
        """The notification events of this import (see NOTIFICATION_EVENTS)."""
        events: list[str] = []
        if self.status in ("failed", "partial"):
            events.append(self.status)
        if self.recovered:
            events.append("recovered")
        if self.paused:
            events.append("paused")
        return tuple(events)


# What a webhook can subscribe to, in the order `--on` lists them.
NOTIFICATION_EVENTS = ("failed", "partial", "recovered", "paused")
