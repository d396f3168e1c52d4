"""What a paginated fetch leaves in the run's work folder: the page store, the Fetched describing it, and the
Parse that maps its items."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ...model import Asset, ItemFailure
from ..base import Fetched
from .paging import Collected
from .sweep import Sweep

SKIPPED_IDS_SHOWN = 10  # ids a note on skipped items names before it stops listing them


class PageStore:
    """Items of a paginated fetch, one JSON document a line in the run's work folder, with a digest of them all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.size = 0  # bytes written
        self._digest = hashlib.sha256()
        self._handle = path.open("w", encoding="utf-8")

    def add(self, items: Iterable[dict[str, Any]]) -> None:
        for item in items:
            line = json.dumps(item, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
            data = line.encode()
            self._digest.update(data)
            self._handle.write(line)
            self.count += 1
            self.size += len(data)

    def close(self) -> None:
        self._handle.close()

    @property
    def digest(self) -> str:
        return self._digest.hexdigest()

    @staticmethod
    def read(path: Path) -> Iterator[dict[str, Any]]:
        """The stored items, one at a time."""
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)


def fetched_from(store: PageStore, collected: Collected, sweep: Sweep | None, url: str) -> Fetched:
    """The Fetched of a paginated fetch: incomplete when paging stopped early or only changes were read.

    The sync state to save is given only when every page was read, so a cut-short fetch is read again next time.
    """
    store.close()
    notes = [f"{store.count} items read in {collected.pages} pages", *collected.notes]
    complete = collected.complete and (sweep is None or sweep.full)
    if sweep is not None and sweep.note():
        notes.append(str(sweep.note()))
    return Fetched(
        path=store.path,
        content_type="application/x-ndjson",
        digest=store.digest,
        size=store.size,
        url=url,
        complete=complete,
        notes=notes,
        sync_state=sweep.state() if sweep is not None and collected.complete else None,
    )


class StoredItems:
    """The Parse of a paginated fetch: each stored item mapped to an Asset; an item that cannot be mapped fails.

    `skip` names why an item is no asset at all (a platform's image entry, a deleted video): such an item is not
    yielded, so it counts as gone from the origin, and the notes say how many were skipped, why, and which.
    """

    def __init__(
        self,
        path: Path,
        parser: str,
        map_item: Callable[[dict[str, Any]], Asset],
        item_id: Callable[[dict[str, Any]], Any],
        skip: Callable[[dict[str, Any]], str | None] | None = None,
    ) -> None:
        self.parser = parser
        self.notes: list[str] = []
        self.complete = True
        self._path = path
        self._map = map_item
        self._id = item_id
        self._skip = skip

    def __iter__(self) -> Iterator[Asset | ItemFailure]:
        skipped: dict[str, list[str]] = {}
        for raw in PageStore.read(self._path):
            external_id = self._id(raw) if isinstance(raw, dict) else None
            try:
                if not isinstance(raw, dict):
                    raise TypeError(f"the item is a {type(raw).__name__}, not an object")
                if not external_id:
                    raise ValueError("the item has no id")
                reason = self._skip(raw) if self._skip is not None else None
                if reason is not None:
                    skipped.setdefault(reason, []).append(str(external_id))
                    continue
                asset = self._map(raw)
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
                yield ItemFailure(
                    reason="the item could not be read as an asset",
                    external_id=str(external_id) if external_id else None,
                    data=raw,
                    errors=[f"{type(exc).__name__}: {exc}"],
                )
                continue
            yield asset
        for reason, ids in skipped.items():
            shown = ", ".join(ids[:SKIPPED_IDS_SHOWN]) + (", …" if len(ids) > SKIPPED_IDS_SHOWN else "")
            self.notes.append(f"{len(ids)} item{'s' if len(ids) != 1 else ''} skipped, {reason}: {shown}")
