"""The `backstage-json` source kind: the CMS's own standardised JSON feed.

The document is a JSON array of typed objects (`movie`, `episode`, `series`, `channel`, `broadcast`, …), or an
object whose `items` holds that array. Each object is an asset in the shape Backstage documents for its asset
metadata and editions (`label`, `images` by role, genre and person references, `geoblock` allow/deny, editions by
`editionType`), or in the project's own export shape, the asset model as `data-agent assets show` prints it
(DESIGN.md §4): `backstage_fields` reads both. Its identity is `external_id`, else `id`. Keys that are not fields
go to `custom` (`rating`, 0-100, then becomes a rating through the standard keys).

An episode names its series by `series_label`, or by a nested `series` object matched on `id` / `external_id`
(preferred: labels are not unique) or `label` / `title`, against the series objects of the same document. A
series that is named but not in the document is created as an asset (`series:` + its label, or the id the
reference gives). The episode's `series` field holds the series' title, as Media RSS gives it (the channel
title), so that every kind fills the field alike and an export reads back to the same assets.

The document is read as a stream (ijson), one object at a time; a document cut short keeps the objects before
the cut and is marked incomplete, so nothing is removed on its account.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from ..errors import DocumentError
from ..model import ASSET_FIELDS, ASSET_TYPES, Asset, ItemFailure, Source, field_from_json
from ..net import HttpClient
from .backstage_fields import DOCUMENTED_KEYS, read_field
from .base import Fetched, download_document
from .spec import TIMEOUT, SourceKind

MAX_RAW_CHARS = 4000
_PYTHON_PARSER = ijson.get_backend("python")
_REFERENCE_KEYS = ("series_label", "series")
# Keys that are neither fields nor custom values: the identity, the series reference, documented aliases of fields.
_NOT_CUSTOM = frozenset(("external_id", "id", *_REFERENCE_KEYS, *DOCUMENTED_KEYS))


class UnreadableJson(DocumentError):
    """The document is not a standardised JSON feed at all."""


def _raw(obj: Any) -> str:
    text = json.dumps(obj, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_RAW_CHARS else text[:MAX_RAW_CHARS] + "…"


def _identity(obj: dict[str, Any]) -> str | None:
    for key in ("external_id", "id"):
        value = obj.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return None


def _label(obj: dict[str, Any]) -> str | None:
    for key in ("label", "title"):
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


class _Series:
    """The series objects of one document: their titles by external id, their external ids by title."""

    def __init__(self) -> None:
        self.by_id: dict[str, str | None] = {}
        self.by_label: dict[str, list[str]] = defaultdict(list)

    def add(self, obj: dict[str, Any]) -> None:
        external_id = _identity(obj)
        if external_id is None:
            return
        label = _label(obj)
        self.by_id[external_id] = label
        if label:
            self.by_label[label].append(external_id)


class BackstageJsonParse:
    """The items of one document: Asset or ItemFailure, then the series assets the references created."""

    parser = "ijson"

    def __init__(self, path: Path, *, default_type: str):
        self.path = path
        self.default_type = default_type
        self.notes: list[str] = []
        self.complete = True

    def _objects(self, *, note: bool = True) -> Iterator[Any]:
        with self.path.open("rb") as handle:
            yield from self._read(handle, note=note)

    def _read(self, handle: BinaryIO, *, note: bool) -> Iterator[Any]:
        try:
            start = handle.read(4096).lstrip()
            handle.seek(0)
            if start[:3] == b"\xef\xbb\xbf":
                start = start[3:].lstrip()
            if not start:
                raise UnreadableJson("the document is empty: the feed URL returned no content")
            if start[:1] not in (b"[", b"{"):
                kind = "an HTML page" if start[:1] == b"<" else "not JSON"
                raise UnreadableJson(
                    f"the document is {kind}, not a standardised JSON feed: check the source URL"
                    " (it must return a JSON array of objects, or an object with an 'items' array)"
                )
            prefix = "item" if start[:1] == b"[" else "items.item"
            read = 0
            try:
                for obj in ijson.items(handle, prefix, use_float=True):
                    read += 1
                    yield obj
            except ijson.JSONError as exc:
                if "integer overflow" not in str(exc):
                    raise
                # The fast C parser stops at an integer beyond 64 bits; the pure-Python one reads it (and the
                # value boundary later drops it), so one such number cannot end the document.
                handle.seek(0)
                for obj in islice(_PYTHON_PARSER.items(handle, prefix, use_float=True), read, None):
                    yield obj
        except ijson.JSONError as exc:  # IncompleteJSONError included
            self.complete = False
            if note:
                problem = "not complete" if isinstance(exc, ijson.IncompleteJSONError) else "not valid"
                self.notes.append(f"the document is {problem} JSON ({exc}); the objects before that point were read")

    def __iter__(self) -> Iterator[Asset | ItemFailure]:
        self.notes = []
        self.complete = True
        series = _Series()
        # Series objects are indexed first so an episode may come before its series; a second pass over the file
        # keeps memory flat where holding every object would not.
        for obj in self._objects(note=False):
            if isinstance(obj, dict) and obj.get("type") == "series":
                series.add(obj)
        created: dict[str, str] = {}
        for obj in self._objects():
            yield self._item(obj, series, created)
        for external_id, label in created.items():
            yield Asset(external_id=external_id, type="series", title=label)

    def _item(self, obj: Any, series: _Series, created: dict[str, str]) -> Asset | ItemFailure:
        if not isinstance(obj, dict):
            return ItemFailure("an entry of the feed is not an object", data=_raw(obj))
        external_id = _identity(obj)
        if external_id is None:
            return ItemFailure("the object has no 'external_id' or 'id'", data=_raw(obj))
        asset_type = obj.get("type", self.default_type)
        if asset_type not in ASSET_TYPES:
            reason = f"unknown type {asset_type!r}: use one of {', '.join(ASSET_TYPES)}"
            return ItemFailure(reason, external_id=external_id, data=_raw(obj))
        asset = Asset(external_id=external_id, type=asset_type)
        errors = []
        for name in ASSET_FIELDS:
            if name in ("type", "series"):
                continue
            try:
                value = read_field(name, obj, asset.notes)
                if value is not None:
                    setattr(asset, name, field_from_json(name, value))
            except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
                errors.append(f"{name}: {exc or type(exc).__name__}")
        if errors:
            reason = f"invalid value of {', '.join(e.split(':')[0] for e in errors)}"
            return ItemFailure(reason, external_id=external_id, data=_raw(obj), errors=errors)
        for key, value in obj.items():
            if key not in ASSET_FIELDS and key not in _NOT_CUSTOM and value is not None:
                asset.custom.setdefault(key, value if isinstance(value, str) else json.dumps(value, default=str))
        if isinstance(obj.get("series"), str) and not obj.get("series_label"):
            obj = {**obj, "series_label": obj["series"], "series": None}
        asset.series = self._series_of(obj, series, created, asset)
        return asset

    def _series_of(self, obj: dict[str, Any], series: _Series, created: dict[str, str], asset: Asset) -> str | None:
        reference = obj.get("series")
        label = obj.get("series_label")
        if isinstance(reference, dict):
            wanted = _identity(reference)
            if wanted is not None:
                if wanted in series.by_id:
                    return series.by_id[wanted] or _label(reference) or wanted
                title = _label(reference) or wanted
                created.setdefault(wanted, title)
                return title
            label = _label(reference)
        if not isinstance(label, str) or not label.strip():
            return None
        label = label.strip()
        matches = series.by_label.get(label, [])
        if len(matches) > 1:
            asset.notes.append(
                f"the series label {label!r} matches {len(matches)} series ({', '.join(matches)}); linked to the first."
                " Name the series by id or external_id: labels are not unique"
            )
        if not matches:
            created.setdefault(f"series:{label}", label)
        return label


class BackstageJsonConnector:
    """The `backstage-json` source kind for `connectors.connector_for`."""

    kind = "backstage-json"

    def fetch(self, source: Source, http: HttpClient, workdir: Path) -> Fetched:
        """Download the feed with a conditional GET."""
        return download_document(source, http, workdir)

    def parse(self, source: Source, fetched: Fetched) -> BackstageJsonParse:
        """The objects of the fetched document, typed `source.asset_type` when they give no type."""
        if fetched.path is None:
            raise UnreadableJson("nothing was fetched from the feed URL")
        return parse_backstage_json(fetched.path, default_type=source.asset_type)


SPEC = SourceKind(
    kind="backstage-json",
    title="the CMS's standardised JSON feed",
    summary="a JSON document of typed assets in the CMS's own standardised shape",
    connector=BackstageJsonConnector,
    local_files=True,
    options=(TIMEOUT,),
)


def parse_backstage_json(path: str | Path, *, default_type: str = "movie") -> BackstageJsonParse:
    """The items of a standardised JSON document at `path`, to iterate (streaming)."""
    return BackstageJsonParse(Path(path), default_type=default_type)
