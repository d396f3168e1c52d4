"""What an import works with besides asset values: the rows it writes, what it knows of the catalog's assets,
and what it reports for each item."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ItemFailure:
    """An item of the origin that could not be turned into an Asset."""

    reason: str
    external_id: str | None = None
    data: Any = None
    errors: list[str] = field(default_factory=list)


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    FAILED = "failed"
    UNPUBLISHED = "unpublished"
    DELETED = "deleted"


class ImportStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    UNCHANGED = "unchanged"


@dataclass  # no slots: slotted dataclasses pickle through a slow generic path
class ItemOutcome:
    """What one import did with one item of the origin."""

    outcome: Outcome
    external_id: str | None = None
    asset_id: str | None = None
    reason: str | None = None
    errors: list[str] = field(default_factory=list)
    kept_fields: list[str] = field(default_factory=list)
    data: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "external_id": self.external_id,
            "asset_id": self.asset_id,
            "outcome": str(self.outcome),
            "reason": self.reason,
            "errors": list(self.errors),
            "kept_fields": list(self.kept_fields),
            "data": self.data if self.data is not None else {},
        }


def empty_counts() -> dict[str, int]:
    """A zero count for every outcome, in contract order."""
    return {str(o): 0 for o in Outcome}


@dataclass  # no slots: slotted dataclasses pickle through a slow generic path
class AssetWrite:
    """An asset row an import writes: column values of the origin fields and the bookkeeping that goes with them."""

    asset_id: str
    external_id: str
    columns: dict[str, Any]
    content_hash: str
    field_hashes: str = ""
    edited_fields: list[str] = field(default_factory=list)
    status: str = "published"
    origin_digest: str | None = None


@dataclass(frozen=True, slots=True)
class ExistingAsset:
    """An asset already in the catalog, as far as an import needs to know it."""

    id: str
    external_id: str
    content_hash: str | None
    status: str
    edited_fields: tuple[str, ...] = ()
    origin_digest: str | None = None


@dataclass(frozen=True, slots=True)
class KnownAsset:
    """An asset an import may recognise by the origin digest of its item (see `Catalog.known_origin_digests`)."""

    external_id: str
    id: str
    edited_fields: tuple[str, ...] = ()
