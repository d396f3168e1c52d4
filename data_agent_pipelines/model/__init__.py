"""Plain dataclasses of the domain: what a connector produces and what an import reports.

Nothing here knows about storage, HTTP or Dagster. Dates are `datetime.date`, instants are timezone-aware
`datetime.datetime` in UTC; `asset_to_dict` / `asset_from_dict` give the JSON form of the asset model
(DESIGN.md §4), which is also what the content hash is computed over.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import operator
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson

ASSET_TYPES = ("movie", "episode", "series", "season", "clip", "channel", "trailer", "live")
# What stands in place of a secret wherever settings are shown (names of credentials, never their values).
REDACTED = "<redacted>"


@dataclass(slots=True)
class Stream:
    """One playable rendition."""

    url: str
    type: str = "other"
    mime: str | None = None
    drm: str | None = None
    bitrate: int | None = None  # kbit/s
    width: int | None = None
    height: int | None = None
    default: bool = False


@dataclass(slots=True)
class Subtitle:
    url: str
    language: str | None = None
    label: str | None = None


@dataclass(slots=True)
class Edition:
    """A cut of the content (`full` or `trailer`) with its renditions and subtitles."""

    name: str = "full"
    streams: list[Stream] = field(default_factory=list)
    subtitles: list[Subtitle] = field(default_factory=list)


@dataclass(slots=True)
class Image:
    url: str
    role: str = "thumbnail"
    width: int | None = None
    height: int | None = None


@dataclass(slots=True)
class Credit:
    name: str
    role: str | None = None


@dataclass(slots=True)
class Rating:
    value: str
    scheme: str | None = None


@dataclass(slots=True)
class Geoblock:
    """Countries (ISO 3166 alpha-2, upper case) where the asset may (`allow`) or may not (`deny`) play."""

    mode: str
    countries: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Availability:
    start: datetime | None = None
    end: datetime | None = None


@dataclass(slots=True)
class Asset:
    """An asset as the origin describes it (no catalog bookkeeping)."""

    external_id: str
    type: str = "movie"
    title: str | None = None
    description: str | None = None
    short_description: str | None = None
    duration: int | None = None  # whole seconds
    release_date: date | None = None
    published_at: datetime | None = None
    availability: Availability | None = None
    images: list[Image] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    genres: list[str] = field(default_factory=list)
    credits: list[Credit] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)
    geoblock: Geoblock | None = None
    editions: list[Edition] = field(default_factory=list)
    series: str | None = None
    season: int | None = None
    episode: int | None = None
    custom: dict[str, str] = field(default_factory=dict)
    # Remarks of the connector about this item for the customer (not a field: not stored, not hashed).
    notes: list[str] = field(default_factory=list, compare=False)
    # The connector's digest of the raw item this asset was mapped from (see `connectors.base.KnownItem`): stored
    # with the asset, it lets the next import skip mapping an item whose raw form has not changed.
    origin_digest: str | None = field(default=None, compare=False)


# The origin-owned fields of an asset, in the order of the asset model. A CMS edit names one of these.
ASSET_FIELDS = (
    "type",
    "title",
    "description",
    "short_description",
    "duration",
    "release_date",
    "published_at",
    "availability",
    "images",
    "tags",
    "genres",
    "credits",
    "ratings",
    "geoblock",
    "editions",
    "series",
    "season",
    "episode",
    "custom",
)


def isoformat(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with a `Z`, seconds precision unless there are microseconds."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_instant(text: str | None) -> datetime | None:
    """Parse an ISO-8601 instant; a value without an offset is taken as UTC."""
    if text is None:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def field_to_json(name: str, value: Any) -> Any:
    """The JSON form of one asset field."""
    if value is None:
        return None
    if name in ("published_at",):
        return isoformat(value)
    if name == "release_date":
        return value.isoformat()
    if name == "availability":
        return {"start": isoformat(value.start), "end": isoformat(value.end)}
    if name == "images":
        return [_drop_none({"url": i.url, "role": i.role, "width": i.width, "height": i.height}) for i in value]
    if name == "credits":
        return [_drop_none({"name": c.name, "role": c.role}) for c in value]
    if name == "ratings":
        return [_drop_none({"scheme": r.scheme, "value": r.value}) for r in value]
    if name == "geoblock":
        return {value.mode: list(value.countries)}
    if name == "editions":
        return [
            {
                "name": e.name,
                "streams": [
                    _drop_none(
                        {
                            "url": s.url,
                            "type": s.type,
                            "mime": s.mime,
                            "drm": s.drm,
                            "bitrate": s.bitrate,
                            "width": s.width,
                            "height": s.height,
                        }
                    )
                    | {"default": s.default}
                    for s in e.streams
                ],
                "subtitles": [
                    _drop_none({"url": t.url, "language": t.language, "label": t.label}) for t in e.subtitles
                ],
            }
            for e in value
        ]
    if name in ("tags", "genres"):
        return list(value)
    if name == "custom":
        return dict(value)
    return value


def field_from_json(name: str, value: Any) -> Any:
    """Inverse of `field_to_json`; raises ValueError/TypeError/KeyError on a malformed value."""
    if value is None:
        return None
    if name == "published_at":
        return parse_instant(value)
    if name == "release_date":
        return date.fromisoformat(value)
    if name == "availability":
        return Availability(start=parse_instant(value.get("start")), end=parse_instant(value.get("end")))
    if name == "images":
        return [Image(**i) for i in value]
    if name == "credits":
        return [Credit(**c) for c in value]
    if name == "ratings":
        return [Rating(**r) for r in value]
    if name == "geoblock":
        ((mode, countries),) = value.items()
        if mode not in ("allow", "deny"):
            raise ValueError(f"geoblock must be {{'allow': [...]}} or {{'deny': [...]}}, not {mode!r}")
        codes = [str(code).strip().upper() for code in countries]
        if any(len(code) != 2 or not code.isalpha() for code in codes):
            raise ValueError("geoblock countries must be ISO 3166 alpha-2 codes, like 'US'")
        return Geoblock(mode=mode, countries=codes)
    if name == "editions":
        return [
            Edition(
                name=e.get("name", "full"),
                streams=[Stream(**s) for s in e.get("streams", [])],
                subtitles=[Subtitle(**t) for t in e.get("subtitles", [])],
            )
            for e in value
        ]
    if name in ("tags", "genres"):
        if isinstance(value, str):  # "a, b" rather than ["a", "b"]: split, never into single characters
            return [part.strip() for part in value.split(",") if part.strip()]
        return [str(v) for v in value]
    if name == "custom":
        return {str(k): str(v) for k, v in value.items()}
    if name in ("duration", "season", "episode"):
        return whole_number(value)
    if name == "type" and value not in ASSET_TYPES:
        raise ValueError(f"unknown type {value!r}: use one of {', '.join(ASSET_TYPES)}")
    return str(value)


def whole_number(value: Any) -> int:
    """An integer from an int, a finite float (rounded) or decimal digits; ValueError on anything else."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return round(value)
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.lstrip("+-").isdigit():
        return int(text)
    raise ValueError(f"{str(value)[:40]!r} is not a whole number")


def asset_to_dict(asset: Asset) -> dict[str, Any]:
    """The origin fields of an asset as JSON-ready values (empty lists stay, absent values are None)."""
    out: dict[str, Any] = {"external_id": asset.external_id}
    for name in ASSET_FIELDS:
        out[name] = field_to_json(name, getattr(asset, name))
    return out


def asset_from_dict(values: dict[str, Any]) -> Asset:
    """Build an Asset from its JSON form; unknown keys are ignored."""
    asset = Asset(external_id=str(values["external_id"]))
    for name in ASSET_FIELDS:
        if name in values:
            converted = field_from_json(name, values[name])
            if converted is not None or name not in (
                "images",
                "tags",
                "genres",
                "credits",
                "ratings",
                "editions",
                "custom",
            ):
                setattr(asset, name, converted)
    return asset


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

# Content hashes are stored: the JSON must stay byte for byte what `_CANONICAL` writes. orjson, much faster, writes
# dicts, lists, tuples, str, int, bool and None exactly like it (keys sorted by code point, the same escapes,
# non-ASCII as is). Where it would not, it either raises -- on subclasses, dates and dataclasses (passed through to
# the absent `default`), non-str keys, ints beyond 64 bits, lone surrogates, nesting deeper than 254 -- or writes its
# own form, for floats (1e-07, NaN), enums, UUIDs and its Fragment: values holding any of those go to `_CANONICAL`.
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
_PLAIN_LEAVES = frozenset((str, int, bool, type(None)))


def _is_plain(value: Any) -> bool:
    """Whether `value` is made of exact dicts, lists and tuples of exact str, int, bool and None only."""
    kind = type(value)
    if kind is dict:
        value = value.values()  # orjson itself refuses keys that are not exact str
    elif kind is not list and kind is not tuple:
        return kind in _PLAIN_LEAVES
    return _PLAIN_LEAVES.issuperset(map(type, value)) or all(map(_is_plain, value))


def canonical_json(value: Any) -> str:
    """Deterministic compact JSON, the input of content hashes: exactly what `_CANONICAL.encode(value)` returns."""
    try:
        # orjson first: it stops at cycles and deep nesting, where the recursive `_is_plain` would not.
        text = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return _CANONICAL.encode(value)
    return text.decode() if _is_plain(value) else _CANONICAL.encode(value)


# Fields stored as JSON columns; the others are scalar columns.
JSON_FIELDS = frozenset(
    ("availability", "images", "tags", "genres", "credits", "ratings", "geoblock", "editions", "custom")
)


# Big-endian unsigned: `.hex()` of the packed CRCs writes each as its 8 lower-case hex digits, all in one call.
_CRC32S = struct.Struct(f">{len(ASSET_FIELDS)}I")


def _field_digests(texts: Iterable[str]) -> str:
    # Per-field hashes only tell the merge whether the origin changed a field the CMS kept: CRC-32 is enough and
    # costs far less than a cryptographic hash twenty times per item. The content hash stays BLAKE2b.
    return _CRC32S.pack(*map(zlib.crc32, map(str.encode, texts))).hex()


def _scalar_text(value: Any, text: str) -> str:
    # `text` is repr(value), which the content hash needs anyway.
    return "t" + isoformat(value) if isinstance(value, datetime) else text


@dataclass
class EncodedAsset:
    """An asset ready for the catalog: column values, a hash of the whole and one per field.

    JSON fields are canonical JSON text (encoded once, here, to hash and to store); scalar fields keep their
    Python values. `field_hashes` (see `field_hash_of`) are the base of the merge of `update-unless-edited`.
    """

    external_id: str
    columns: dict[str, Any]
    field_hashes: str
    content_hash: str


FIELD_HASH_LENGTH = 8


def field_hash_of(field_hashes: str | None, name: str) -> str | None:
    """One field's hash out of the compact per-field hashes of `encode_asset` (None when unknown)."""
    if not field_hashes:
        return None
    start = ASSET_FIELDS.index(name) * FIELD_HASH_LENGTH
    return field_hashes[start : start + FIELD_HASH_LENGTH] or None


_SCALAR_FIELDS = tuple(name for name in ASSET_FIELDS if name not in JSON_FIELDS)
_JSON_FIELD_ORDER = tuple(name for name in ASSET_FIELDS if name in JSON_FIELDS)
_SCALAR_VALUES = operator.attrgetter(*_SCALAR_FIELDS)
_JSON_VALUES = operator.attrgetter(*_JSON_FIELD_ORDER)
# The texts of encode_asset (scalar fields first, then the JSON fields) in ASSET_FIELDS order.
_IN_FIELD_ORDER = operator.itemgetter(*((*_SCALAR_FIELDS, *_JSON_FIELD_ORDER).index(name) for name in ASSET_FIELDS))


class _NotPlain(Exception):
    """A value holding something orjson would not write exactly like `_CANONICAL`."""


def _plain(values: Any) -> Any:
    if not _PLAIN_LEAVES.issuperset(map(type, values)):
        raise _NotPlain
    return values


def _leaf(value: Any) -> Any:
    if type(value) not in _PLAIN_LEAVES:
        raise _NotPlain
    return value


def _list(value: Any) -> list[Any]:
    # Only exact lists: when the fast path gives up half-way, the stdlib path must still see every item (an
    # iterator would be spent).
    if type(value) is not list:
        raise _NotPlain
    return value


def _records(items: Any, names: tuple[str, ...], kept: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    # `_drop_none` of the `names` attributes of each item, plus the `kept` ones even when None; one call per list
    # and the leaf check inline, as this runs for every image, credit, rating and stream.
    out: list[dict[str, Any]] = []
    for item in _list(items):
        record: dict[str, Any] = {}
        for name in names:
            value = getattr(item, name)
            if value is not None:
                if type(value) not in _PLAIN_LEAVES:
                    raise _NotPlain
                record[name] = value
        for name in kept:
            record[name] = _leaf(getattr(item, name))
        out.append(record)
    return out


def _plain_editions(editions: Any) -> list[dict[str, Any]]:
    records = _records(editions, (), ("name",))
    for record, edition in zip(records, editions, strict=True):
        record["streams"] = _records(
            edition.streams, ("url", "type", "mime", "drm", "bitrate", "width", "height"), ("default",)
        )
        record["subtitles"] = _records(edition.subtitles, ("url", "language", "label"))
    return records


def _plain_custom(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _NotPlain
    _plain(value.values())
    return value


# `field_to_json` of each JSON field, built straight from the dataclasses and only for values of plain leaves (else
# _NotPlain); the tests check that the two agree.
_PLAIN_FIELD_JSON = {
    "availability": lambda value: _plain({"start": isoformat(value.start), "end": isoformat(value.end)}),
    "images": lambda value: _records(value, ("url", "role", "width", "height")),
    "tags": lambda value: _plain(_list(value)),
    "genres": lambda value: _plain(_list(value)),
    "credits": lambda value: _records(value, ("name", "role")),
    "ratings": lambda value: _records(value, ("scheme", "value")),
    "geoblock": lambda value: {value.mode: _plain(_list(value.countries))},
    "editions": _plain_editions,
    "custom": _plain_custom,
}


def _json_text(name: str, value: Any) -> str:
    if value is None:
        return "null"
    if not value:
        return "{}" if name == "custom" else "[]"
    try:
        return orjson.dumps(_PLAIN_FIELD_JSON[name](value), option=_ORJSON_OPTIONS).decode()
    except Exception:
        # Whatever the fast path cannot take, the stdlib encodes (or refuses) exactly as it always did.
        return _CANONICAL.encode(field_to_json(name, value))


def encode_asset(asset: Asset) -> EncodedAsset:
    """Encode an asset's origin fields once for hashing, comparing and storing."""
    scalars = _SCALAR_VALUES(asset)
    columns: dict[str, Any] = dict(zip(_SCALAR_FIELDS, scalars, strict=True))
    texts: list[str] = []
    for name, value in zip(_JSON_FIELD_ORDER, _JSON_VALUES(asset), strict=True):
        text = _json_text(name, value)
        texts.append(text)
        columns[name] = None if value is None else text
    reprs = list(map(repr, scalars))
    # repr(scalars) (a tuple of several items), from the reprs of the items that the field hashes use too.
    whole = "(" + ", ".join(reprs) + ")"
    content = hashlib.blake2b("\x1f".join((whole, *texts)).encode(), digest_size=16).hexdigest()
    # One string of fixed-width hashes in ASSET_FIELDS order: cheap to carry, store and slice.
    hashes = _field_digests(_IN_FIELD_ORDER([*map(_scalar_text, scalars, reprs), *texts]))
    return EncodedAsset(asset.external_id, columns, hashes, content)


def columns_to_json(columns: dict[str, Any]) -> dict[str, Any]:
    """The JSON form of column values (JSON fields decoded, dates and instants as ISO text)."""
    out: dict[str, Any] = {}
    for name, value in columns.items():
        if name in JSON_FIELDS and isinstance(value, str):
            out[name] = json.loads(value)
        elif isinstance(value, datetime):
            out[name] = isoformat(value)
        elif isinstance(value, date):
            out[name] = value.isoformat()
        else:
            out[name] = value
    return out


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
    asset_type: str = "movie"
    options: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    sign_streams: str | None = None
    enabled: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_run_at: datetime | None = None
    next_run_at: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_digest: str | None = None
    sync_state: dict[str, Any] = field(default_factory=dict)  # connector cursors, saved after a successful import


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
