"""The encoded form of an asset: canonical JSON, the content hash and the per-field hashes the catalog stores.

Content and field hashes are stored in catalogs: one byte of difference would mark every asset as changed.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

from .assets import ASSET_FIELDS, Asset, field_to_json, isoformat

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

# Content hashes are stored: the JSON must stay byte for byte what `_CANONICAL` writes. orjson, much faster, writes
# dicts, lists, tuples, str, int, bool and None exactly like it (keys sorted by code point, the same escapes,
# non-ASCII as is). Where it would not, it either raises -- on subclasses, dates and dataclasses (passed through to
# the absent `default`), non-str keys, ints beyond 64 bits, lone surrogates, nesting deeper than 254 -- or writes its
# own form, for floats (1e-07, NaN), enums, UUIDs and its Fragment: values holding any of those go to `_CANONICAL`.
ORJSON_OPTIONS = (
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
        text = orjson.dumps(value, option=ORJSON_OPTIONS)
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


# The repr and the ISO form of recent instants: a feed's items share their availability window, and isoformat() and
# repr() of an aware datetime are among the slowest steps of encoding an item. Only exact datetimes in UTC with
# fold 0 are kept: for them both texts follow from the value alone (an equal instant of another zone, or with fold
# 1, compares equal yet has another repr).
_INSTANTS: dict[datetime, tuple[str, str]] = {}
_MAX_INSTANTS = 4096


def instant_texts(value: datetime) -> tuple[str, str]:
    """repr(value) and isoformat(value) of a datetime, from a small cache when it is an exact datetime in UTC."""
    cached = type(value) is datetime and value.tzinfo is UTC and not value.fold
    texts = _INSTANTS.get(value) if cached else None
    if texts is None:
        texts = (repr(value), isoformat(value))
        if cached:
            if len(_INSTANTS) >= _MAX_INSTANTS:
                _INSTANTS.clear()
            _INSTANTS[value] = texts
    return texts


def _iso(value: Any) -> str | None:
    # isoformat() alone for what the cache does not keep: nothing else may be asked of an odd value.
    if type(value) is datetime and value.tzinfo is UTC and not value.fold:
        return instant_texts(value)[1]
    return isoformat(value)


def _scalar_text(value: Any, text: str) -> str:
    # `text` is repr(value), which the content hash needs anyway.
    return "t" + _iso(value) if isinstance(value, datetime) else text


def scalar_texts(value: Any) -> tuple[str, str]:
    """repr(value), which the content hash takes, and the text of the field hash of a scalar field's `value`."""
    if type(value) is datetime and value.tzinfo is UTC and not value.fold:
        text, iso = instant_texts(value)
        return text, "t" + iso
    text = repr(value)
    return text, _scalar_text(value, text)


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
        for link in (*edition.streams, *edition.subtitles):
            # Rare values (an expiring link, DRM data, a forced subtitle) take the stdlib path: the fast one stays lean.
            if link.expires is not None or getattr(link, "drm_data", None) is not None:
                raise _NotPlain
            if getattr(link, "forced", False) is not False:
                raise _NotPlain
    return records


def _plain_custom(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _NotPlain
    _plain(value.values())
    return value


# `field_to_json` of each JSON field, built straight from the dataclasses and only for values of plain leaves (else
# _NotPlain); the tests check that the two agree.
_PLAIN_FIELD_JSON = {
    "availability": lambda value: _plain({"start": _iso(value.start), "end": _iso(value.end)}),
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
        return orjson.dumps(_PLAIN_FIELD_JSON[name](value), option=ORJSON_OPTIONS).decode()
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
    field_texts = _IN_FIELD_ORDER([*map(_scalar_text, scalars, reprs), *texts])
    return encoded_asset(asset.external_id, columns, reprs, texts, field_texts)


def encoded_asset(
    external_id: str, columns: dict[str, Any], reprs: list[str], texts: list[str], field_texts: Iterable[str]
) -> EncodedAsset:
    """The EncodedAsset of `encode_asset` from its parts: the reprs of the scalar fields, the JSON texts of the
    JSON fields (both in ASSET_FIELDS order) and each field's text as its field hash takes it, in that order too.
    """
    # repr(scalars) (a tuple of several items), from the reprs of the items that the field hashes use too.
    whole = "(" + ", ".join(reprs) + ")"
    content = hashlib.blake2b("\x1f".join((whole, *texts)).encode(), digest_size=16).hexdigest()
    # One string of fixed-width hashes in ASSET_FIELDS order: cheap to carry, store and slice.
    return EncodedAsset(external_id, columns, _field_digests(field_texts), content)


# Digits enough for an integer orjson would read as a float (beyond 64 bits); digits in text match too, harmlessly.
_LONG_NUMBER = re.compile(r"\d{19}")


def decode_json(text: str) -> Any:
    """`json.loads(text)`, by orjson where it reads the same (it refuses NaN, huge numbers and lone surrogates, and
    reads integers beyond 64 bits as floats: those texts go to the stdlib)."""
    if _LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def columns_to_json(columns: dict[str, Any]) -> dict[str, Any]:
    """The JSON form of column values (JSON fields decoded, dates and instants as ISO text)."""
    out: dict[str, Any] = {}
    for name, value in columns.items():
        if name in JSON_FIELDS and isinstance(value, str):
            out[name] = decode_json(value)
        elif isinstance(value, datetime):
            out[name] = isoformat(value)
        elif isinstance(value, date):
            out[name] = value.isoformat()
        else:
            out[name] = value
    return out
