"""Source-of-truth policies and removal rules: existing assets + incoming items -> decisions. Pure: no I/O.

- `importer` creates and updates; a CMS edit is overwritten by the origin and leaves `edited_fields`.
- `create-only` creates; an existing asset is never touched (skipped, reason `create-only`).
- `update-unless-edited` is a three-way merge per field: a field edited in the CMS keeps the CMS value, every
  other field follows the origin. Each asset stores a short hash per field of the last imported value
  (`origin_hashes`), so a kept field whose origin value changed too is reported as a conflict.

An item the origin does not publish (`Asset.unpublished`: private, still transcoding…) is stored with status
`unpublished` and the reason; when it is published again, so is the asset. An item whose only change is the new
signature of links that expire anyway (`expires` on a stream or subtitle) is `unchanged`, but its links are written:
the catalog keeps working links without reporting an update at every import.

Vanished items follow the source's `on_missing` (keep, unpublish, delete), behind a guard that holds every
removal back when the origin's answer cannot be trusted to be complete.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import (
    ASSET_FIELDS,
    AssetWrite,
    ExistingAsset,
    ItemOutcome,
    Outcome,
    columns_to_json,
    field_hash_of,
)
from .model.item_runs import PlainRun


@dataclass(frozen=True)  # no slots: staged to scratch files, and slotted dataclasses pickle slowly
class Incoming:
    """A normalised item of the origin: its column values and hashes (see `model.encode_asset`)."""

    external_id: str
    content_hash: str
    field_hashes: str
    columns: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    origin_digest: str | None = None
    unpublished: str | None = None  # why the origin does not publish it (see `Asset.unpublished`)

    @property
    def status(self) -> str:
        """The status the asset takes from the origin."""
        return "unpublished" if self.unpublished else "published"


@dataclass(frozen=True)
class Recognised:
    """An item the connector recognised by its origin digest: the same raw item the asset was imported from."""

    external_id: str
    asset_id: str
    edited_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecognisedRun:
    """Consecutive recognised items whose assets have no CMS edits: (external id, asset id) of each, in order."""

    members: list[tuple[str, str]]


@dataclass(slots=True)
class Current:
    """What an existing asset holds now: its origin fields (JSON form) and the hashes of the last import."""

    values: dict[str, Any]
    origin_hashes: str | None


@dataclass(slots=True)
class Decision:
    outcome: ItemOutcome
    write: AssetWrite | None = None


def needs_current(item: Incoming, existing: ExistingAsset | None, policy: str) -> bool:
    """Whether deciding this item needs the asset's current values (to say what changed, or to merge)."""
    return existing is not None and policy != "create-only" and _differs(item, existing, policy)


def _differs(item: Incoming, existing: ExistingAsset, policy: str) -> bool:
    if item.content_hash != existing.content_hash or existing.status != item.status:
        return True
    # Same origin content: the importer still restores fields the CMS edited; the merge keeps them.
    return policy == "importer" and bool(existing.edited_fields)


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: {"from": old.get(name), "to": new.get(name)} for name in ASSET_FIELDS if old.get(name) != new.get(name)
    }


def _address(url: Any) -> Any:
    """A link without its query and fragment: where a signed link points, whatever its signature."""
    return url.split("#", 1)[0].split("?", 1)[0] if isinstance(url, str) else url


def _renewed(old: Any, new: Any) -> bool:
    """Whether `new` is `old` (a stream or subtitle in JSON form) with a fresh signature of the same expiring link."""
    if not (isinstance(old, dict) and isinstance(new, dict) and old.get("expires") and new.get("expires")):
        return False
    rest = ("url", "expires")
    same_rest = {k: v for k, v in old.items() if k not in rest} == {k: v for k, v in new.items() if k not in rest}
    return same_rest and _address(old.get("url")) == _address(new.get("url"))


def _renewed_links(changes: Mapping[str, Any]) -> int:
    """How many expiring links the changes renew, when they change nothing else (0 when they change more)."""
    if set(changes) != {"editions"}:
        return 0
    old, new = changes["editions"]["from"], changes["editions"]["to"]
    if not isinstance(old, list) or not isinstance(new, list) or len(old) != len(new):
        return 0
    renewed = 0
    for old_edition, new_edition in zip(old, new, strict=True):
        if not isinstance(old_edition, dict) or not isinstance(new_edition, dict):
            return 0
        links = ("streams", "subtitles")
        if {k: v for k, v in old_edition.items() if k not in links} != {
            k: v for k, v in new_edition.items() if k not in links
        }:
            return 0
        for key in links:
            old_links, new_links = old_edition.get(key) or [], new_edition.get(key) or []
            if not isinstance(old_links, list) or not isinstance(new_links, list) or len(old_links) != len(new_links):
                return 0
            for old_link, new_link in zip(old_links, new_links, strict=True):
                if old_link == new_link:
                    continue
                if not _renewed(old_link, new_link):
                    return 0
                renewed += 1
    return renewed


def _renewal_reason(count: int) -> str:
    return f"renewed {count} expiring link{'s' if count != 1 else ''} (the origin signs them with an expiry)"


def decide(
    item: Incoming,
    existing: ExistingAsset | None,
    current: Current | None,
    *,
    policy: str,
    new_id: Callable[[], str],
    to_columns: Callable[[dict[str, Any]], dict[str, Any]],
) -> Decision:
    """What to do with one incoming item. `current` is given when `needs_current` says so.

    `to_columns` turns JSON-form values (the CMS values a merge keeps) into column values.
    """
    withheld = f"unpublished: {item.unpublished}" if item.unpublished else None
    if existing is None:
        write = AssetWrite(
            new_id(),
            item.external_id,
            item.columns,
            item.content_hash,
            item.field_hashes,
            status=item.status,
            origin_digest=item.origin_digest,
        )
        return Decision(ItemOutcome(Outcome.CREATED, item.external_id, write.asset_id, reason=withheld), write)
    if policy == "create-only":
        reason = "create-only"
        if existing.status != "published" and not item.unpublished:
            reason += ": the item is back in the origin, but the asset is never touched and stays unpublished"
        elif existing.status == "published" and item.unpublished:
            reason += f": the origin no longer publishes it ({item.unpublished}), but the asset is never touched"
        return Decision(ItemOutcome(Outcome.SKIPPED, item.external_id, existing.id, reason=reason))
    if not _differs(item, existing, policy):
        kept = sorted(existing.edited_fields)
        outcome = ItemOutcome(Outcome.UNCHANGED, item.external_id, existing.id, reason=withheld, kept_fields=kept)
        return Decision(outcome)
    assert current is not None, "needs_current() said the current values are needed"
    incoming = columns_to_json(item.columns)
    reasons: list[str] = []
    if existing.status != "published" and not item.unpublished:
        reasons.append("published again: the item is back in the origin")
    elif withheld:
        reasons.append(withheld)
    if policy == "update-unless-edited" and existing.edited_fields:
        kept = [name for name in ASSET_FIELDS if name in existing.edited_fields]
        conflicts = [
            name
            for name in kept
            if field_hash_of(item.field_hashes, name) != field_hash_of(current.origin_hashes, name)
        ]
        merged = {**incoming, **{name: current.values.get(name) for name in kept}}
        reasons.append(f"kept the CMS value of {', '.join(kept)}")
        if conflicts:
            reasons.append(f"conflict: the origin also changed {', '.join(conflicts)} since the last import")
        columns = {**item.columns, **to_columns({name: current.values.get(name) for name in kept})}
        write = AssetWrite(
            existing.id,
            item.external_id,
            columns,
            item.content_hash,
            item.field_hashes,
            edited_fields=kept,
            status=item.status,
            origin_digest=item.origin_digest,
        )
        changes = _changes(current.values, merged)
        renewed = 0 if conflicts or existing.status != item.status else _renewed_links(changes)
        if renewed:
            reason = "; ".join(filter(None, [withheld, _renewal_reason(renewed)]))
            outcome = ItemOutcome(Outcome.UNCHANGED, item.external_id, existing.id, reason=reason, kept_fields=kept)
            return Decision(outcome, write)
        outcome = ItemOutcome(
            Outcome.UPDATED,
            item.external_id,
            existing.id,
            reason="; ".join(reasons),
            kept_fields=kept,
            data=changes,
        )
        return Decision(outcome, write)
    if existing.edited_fields:
        reasons.append(f"the origin overwrote the CMS edit of {', '.join(sorted(existing.edited_fields))}")
    write = AssetWrite(
        existing.id,
        item.external_id,
        item.columns,
        item.content_hash,
        item.field_hashes,
        status=item.status,
        origin_digest=item.origin_digest,
    )
    changes = _changes(current.values, incoming)
    renewed = 0 if existing.edited_fields or existing.status != item.status else _renewed_links(changes)
    if renewed:
        # Only signatures changed: not an update, but the catalog takes the fresh links (the old ones expire).
        reason = "; ".join(filter(None, [withheld, _renewal_reason(renewed)]))
        return Decision(ItemOutcome(Outcome.UNCHANGED, item.external_id, existing.id, reason=reason), write)
    outcome = ItemOutcome(
        Outcome.UPDATED,
        item.external_id,
        existing.id,
        reason="; ".join(reasons) or None,
        data=changes,
    )
    return Decision(outcome, write)


def decide_recognised(item: Recognised, *, policy: str) -> ItemOutcome:
    """The outcome of a recognised item: what `decide` says of an unchanged item, without its values.

    Only published assets are recognised, and under `importer` only those without CMS edits
    (`Catalog.known_origin_digests`), so nothing is left to write.
    """
    if policy == "create-only":
        return ItemOutcome(Outcome.SKIPPED, item.external_id, item.asset_id, reason="create-only")
    return ItemOutcome(Outcome.UNCHANGED, item.external_id, item.asset_id, kept_fields=sorted(item.edited_fields))


def decide_recognised_run(run: RecognisedRun, *, policy: str) -> list[ItemOutcome | PlainRun]:
    """The outcomes of a run of recognised items without CMS edits: what `decide_recognised` says of each."""
    if policy == "create-only":
        return [
            ItemOutcome(Outcome.SKIPPED, external_id, asset_id, reason="create-only")
            for external_id, asset_id in run.members
        ]
    return [PlainRun(Outcome.UNCHANGED, list(run.members))]


@dataclass(frozen=True, slots=True)
class Removal:
    """The vanished assets an import would remove, or why it holds back."""

    action: str  # "unpublish" or "delete"
    assets: list[tuple[str, str]]  # (external id, asset id)
    held_back: str | None = None

    def outcomes(self) -> list[ItemOutcome]:
        kind = Outcome.UNPUBLISHED if self.action == "unpublish" else Outcome.DELETED
        reason = "no longer in the origin"
        return [ItemOutcome(kind, external_id, asset_id, reason=reason) for external_id, asset_id in self.assets]


def plan_removals(
    *,
    on_missing: str,
    vanished: list[tuple[str, str]],
    source_asset_count: int,
    items_seen: int,
    complete: bool,
    max_fraction: float,
) -> Removal | None:
    """Decide what happens to assets whose item is gone; None when nothing would be removed.

    `vanished` holds the (external id, asset id) of the source's assets that are not in this fetch and would be
    removed (for `unpublish`, only those still published). The guard holds every removal back when the document
    or the paginated fetch was incomplete, when the origin returned no items at all, or when more than
    `max_fraction` of the source's assets would go.
    """
    if on_missing == "keep" or not vanished:
        return None
    action = on_missing
    verb = "unpublished" if action == "unpublish" else "deleted"
    count = len(vanished)
    held_back = None
    if not complete:
        held_back = "the origin's answer was incomplete (cut short, not well-formed or a paging fetch stopped early)"
    elif items_seen == 0:
        held_back = "the origin returned no items at all"
    elif source_asset_count and count / source_asset_count > max_fraction:
        held_back = (
            f"{count} of the source's {source_asset_count} assets ({count / source_asset_count:.0%}) would be"
            f" {verb}, more than the source's max removal fraction of {max_fraction:.0%}"
        )
    return Removal(action, sorted(vanished), held_back)
