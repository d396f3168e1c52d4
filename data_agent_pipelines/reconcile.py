"""Source-of-truth policies: existing assets + incoming items -> a plan. Pure: no I/O, no clock.

`importer` creates and updates (a CMS edit is overwritten and leaves `edited_fields`); `create-only` creates
and never touches an existing asset; `update-unless-edited` keeps the CMS value of every field edited in the
CMS and lets the origin update the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .model import ASSET_FIELDS, AssetWrite, ExistingAsset, ItemOutcome, Outcome


@dataclass(frozen=True, slots=True)
class Incoming:
    """A normalised item of the origin: its JSON-form fields and their content hash."""

    external_id: str
    content_hash: str
    values: dict[str, Any]


@dataclass(slots=True)
class Decision:
    outcome: ItemOutcome
    write: AssetWrite | None = None


def needs_current_values(item: Incoming, existing: ExistingAsset | None, policy: str) -> bool:
    """Whether deciding this item needs the asset's current field values (to diff or to merge)."""
    if existing is None or policy == "create-only":
        return False
    return _differs(item, existing)


def _differs(item: Incoming, existing: ExistingAsset) -> bool:
    return item.content_hash != existing.content_hash or existing.status != "published" or bool(existing.edited_fields)


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: {"from": old.get(name), "to": new.get(name)} for name in ASSET_FIELDS if old.get(name) != new.get(name)
    }


def decide(
    item: Incoming,
    existing: ExistingAsset | None,
    current: Mapping[str, Any] | None,
    *,
    policy: str,
    new_id: Callable[[], str],
) -> Decision:
    """What to do with one incoming item. `current` holds the asset's field values when `needs_current_values`."""
    if existing is None:
        write = AssetWrite(new_id(), item.external_id, item.values, item.content_hash)
        return Decision(ItemOutcome(Outcome.CREATED, item.external_id, write.asset_id), write)
    if policy == "create-only":
        return Decision(ItemOutcome(Outcome.SKIPPED, item.external_id, existing.id, reason="create-only"))
    if not _differs(item, existing):
        return Decision(ItemOutcome(Outcome.UNCHANGED, item.external_id, existing.id))
    current = current or {}
    republished = existing.status != "published"
    if policy == "update-unless-edited" and existing.edited_fields:
        kept = [name for name in ASSET_FIELDS if name in existing.edited_fields]
        merged = {**item.values, **{name: current.get(name) for name in kept}}
        changes = _changes(current, merged)
        if not changes and not republished and item.content_hash == existing.content_hash:
            return Decision(ItemOutcome(Outcome.UNCHANGED, item.external_id, existing.id, kept_fields=kept))
        write = AssetWrite(existing.id, item.external_id, merged, item.content_hash, edited_fields=kept)
        reason = f"kept the CMS value of {', '.join(kept)}"
        outcome = ItemOutcome(
            Outcome.UPDATED, item.external_id, existing.id, reason=reason, kept_fields=kept, data=changes
        )
        return Decision(outcome, write)
    changes = _changes(current, item.values)
    reasons = []
    if existing.edited_fields:
        reasons.append(f"the origin overwrote the CMS edit of {', '.join(existing.edited_fields)}")
    if republished:
        reasons.append("published again: the item is back in the origin")
    write = AssetWrite(existing.id, item.external_id, item.values, item.content_hash)
    outcome = ItemOutcome(
        Outcome.UPDATED, item.external_id, existing.id, reason="; ".join(reasons) or None, data=changes
    )
    return Decision(outcome, write)
