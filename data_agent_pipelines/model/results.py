"""What an import and an export report: the ImportResult and the ExportResult, from the step that makes them to the
CLI, the API, the Dagster materialization and Bugsnag. `to_json` gives the documented JSON shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .assets import isoformat
from .imports import ImportStatus, ItemOutcome, empty_counts


@dataclass(frozen=True, slots=True)
class HeldBack:
    """Removals the guard held back: what the rule would have done, to how many assets, and why it did not."""

    action: str  # unpublish | delete
    count: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The result's `held_back` object."""
        return {"action": self.action, "count": self.count, "reason": self.reason}


@dataclass(slots=True)
class ImportResult:
    """What one import of a source did. `items` is None when the result was read without them (there may be
    millions: stream them with `Catalog.iter_result_items`)."""

    id: str
    source_id: str
    service: str
    run_id: str | None
    status: ImportStatus
    started_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)
    held_back: HeldBack | None = None
    counts: dict[str, int] = field(default_factory=empty_counts)
    items: list[ItemOutcome] | None = None

    @property
    def failed(self) -> bool:
        """The import failed as a whole: nothing of it was applied."""
        return self.status == ImportStatus.FAILED

    def to_json(self) -> dict[str, Any]:
        """The ImportResult JSON of `results show` and the API, with `items` when the result holds them."""
        document: dict[str, Any] = {
            "id": self.id,
            "source_id": self.source_id,
            "service": self.service,
            "run_id": self.run_id,
            "status": str(self.status),
            "dry_run": self.dry_run,
            "started_at": isoformat(self.started_at),
            "finished_at": isoformat(self.finished_at),
            "error": self.error,
            "notes": list(self.notes),
            "held_back": self.held_back.to_json() if self.held_back else None,
            "counts": dict(self.counts),
        }
        if self.items is not None:
            document["items"] = [item.to_json() for item in self.items]
        return document


@dataclass(slots=True)
class ExportResult:
    """What one export of a target did: the objects it wrote (with their sizes and checksums) and the manifest.
    `id` is None for the failure of a run that died before it could record its result."""

    id: str | None
    target_id: str
    service: str
    run_id: str | None
    format: str
    started_at: datetime
    status: str = "failed"  # succeeded | failed: an export is failed until it has written its manifest
    finished_at: datetime | None = None
    count: int = 0
    objects: list[dict[str, Any]] = field(default_factory=list)
    manifest_key: str | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        """The export wrote its objects and its manifest."""
        return self.status == "succeeded"

    def to_json(self) -> dict[str, Any]:
        """The ExportResult JSON of `exports results`, `export` and the API."""
        return {
            "id": self.id,
            "target_id": self.target_id,
            "service": self.service,
            "run_id": self.run_id,
            "status": self.status,
            "format": self.format,
            "count": self.count,
            "objects": [dict(obj) for obj in self.objects],
            "manifest_key": self.manifest_key,
            "error": self.error,
            "started_at": isoformat(self.started_at),
            "finished_at": isoformat(self.finished_at),
        }
