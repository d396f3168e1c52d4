"""The value boundary of the asset model: what any asset may hold before it reaches the catalog.

Every asset a connector produces passes `bound_asset` once, on its way from `normalise` to the catalog, and a CMS
edit passes `check_field` for the field it sets, so no value can fail a write on either backend: integers fit
PostgreSQL's 32-bit INTEGER, text holds no character a catalog cannot store, and every string and list has a
maximum size (docs/architecture.md lists them).

The rule for a value over its limit:
- free text (title, description, tags, credit names, custom values...) is cut to the limit, with a warning;
- what cannot be cut without becoming wrong (the external id, an address, a custom key, a list's length, the
  encoded size of the whole item) fails the item alone, with a reason naming the field and the limit;
- an integer out of range is dropped, with a warning, as a value a connector cannot parse already is.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any
from urllib.parse import urlsplit

import orjson

from .model import ASSET_FIELDS, ASSET_TYPES, Asset, Availability, Edition, EncodedAsset, Geoblock
from .model.encoding import ORJSON_OPTIONS, encoded_asset, instant_texts, isoformat, scalar_texts

# The catalog's INTEGER columns are signed 32-bit on PostgreSQL; no integer of the model may be negative.
MAX_INTEGER = 2**31 - 1

# Maximum sizes, in characters (in entries for lists).
MAX_EXTERNAL_ID = 500  # the unique (source, external id) index of PostgreSQL takes some 2,700 bytes a row
MAX_URL = 4_096
MAX_TEXT = {"title": 1_000, "short_description": 2_000, "description": 20_000, "series": 1_000}
MAX_LABEL = 500  # one tag, genre, credit name or role, rating, edition name, stream type, MIME type, language...
MAX_CUSTOM_KEY = 200
MAX_CUSTOM_VALUE = 2_000
MAX_DRM_DATA = 10_000  # a stream's DRM data as JSON: license and certificate URLs, a key id, not a payload
MAX_ENTRIES = {
    "images": 100,
    "tags": 500,
    "genres": 100,
    "credits": 500,
    "ratings": 50,
    "geoblock": 300,
    "editions": 20,
    "streams": 100,
    "subtitles": 100,
    "custom": 100,
}
# The whole item once encoded (its column values together): bounds what one asset costs every reader.
MAX_ITEM_CHARS = 1_000_000

# NUL and unpaired surrogates: PostgreSQL stores neither in TEXT or JSONB, and no UTF-8 encoder writes the latter.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class OverLimit(ValueError):
    """A value of an item beyond a limit that cutting it cannot honour: the item fails alone with this reason."""


def storable(text: str) -> str:
    """`text` without the characters no catalog can store."""
    if text.isascii():
        return text.replace("\x00", "") if "\x00" in text else text
    return _UNSTORABLE.sub("", text)


def clip(text: str, limit: int) -> str:
    """`text`, storable, cut to `limit` characters with an ellipsis when longer (for reasons and remarks)."""
    text = storable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        # str() of a huge integer is slow, and refused beyond 4,300 digits
        return f"(a number of about {int(value.bit_length() * 0.30103) + 1:,} digits)"
    return clip(repr(value), 60)


class _Boundary:
    """One item's pass through the limits: cleans values in place and collects the warnings.

    A strict boundary (a CMS edit: a person typed the value and can fix it) refuses instead of cutting or dropping.
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.warnings: list[str] = []

    def warn(self, problem: str, consequence: str) -> None:
        if self.strict:
            raise OverLimit(problem)
        self.warnings.append(f"{problem}: {consequence}")

    def text(self, where: str, value: Any, limit: int) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{where} is {type(value).__name__}, not text")
        clean = storable(value)
        if clean is not value and clean != value:
            self.warn(f"{where} holds characters no catalog can store (NUL, unpaired surrogates)", "removed")
        if len(clean) > limit:
            self.warn(f"{where} is {len(clean):,} characters long; the limit is {limit:,}", "cut to the limit")
            clean = clean[:limit]
        return clean

    def optional_text(self, where: str, value: Any, limit: int) -> str | None:
        return None if value is None else self.text(where, value, limit)

    def exact(self, where: str, value: Any, limit: int) -> str:
        """Text that cutting would make wrong (an id, an address, a key): over the limit, the item fails."""
        if not isinstance(value, str):
            raise TypeError(f"{where} is {type(value).__name__}, not text")
        if len(value) > limit:
            raise OverLimit(f"{where} is {len(value):,} characters long; the limit is {limit:,}")
        clean = storable(value)
        if clean != value:
            raise OverLimit(f"{where} holds characters no catalog can store (NUL or unpaired surrogates)")
        return value

    def url(self, where: str, value: Any) -> str:
        """An address: exact, and in a CMS edit one that parses (a playback link is made from it)."""
        value = self.exact(where, value, MAX_URL)
        if self.strict:
            try:
                parts = urlsplit(value)
                parts.port  # noqa: B018 - reading it checks it
            except ValueError as exc:
                raise OverLimit(f"{where} {clip(value, 80)!r} is not a valid URL: {exc}") from None
            if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
                raise OverLimit(f"{where} {clip(value, 80)!r} is not an absolute http(s) URL")
        return value

    def integer(self, where: str, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.warn(f"{where} {_describe(value)} is not a whole number", "dropped")
            return None
        if not 0 <= value <= MAX_INTEGER:
            self.warn(f"{where} {_describe(value)} is out of range (0 to {MAX_INTEGER:,})", "dropped")
            return None
        return value

    def plain_json(self, where: str, value: Any, limit: int) -> Any:
        """An object stored as it is (DRM data): plain JSON a catalog can store, at most `limit` characters."""
        if value is None:
            return None
        if not isinstance(value, dict):
            raise TypeError(f"{where} is {type(value).__name__}, not an object")
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            raise OverLimit(f"{where} is not plain JSON (numbers, text, lists and objects only)") from None
        if len(text) > limit:
            raise OverLimit(f"{where} is {len(text):,} characters as JSON; the limit is {limit:,}")
        if "\\u0000" in text or storable(text) != text:
            raise OverLimit(f"{where} holds characters no catalog can store (NUL or unpaired surrogates)")
        return value

    def entries(self, where: str, values: Any, limit: int) -> None:
        if len(values) > limit:
            raise OverLimit(f"{where} has {len(values):,} entries; the limit is {limit:,}")

    def labels(self, where: str, values: list[Any]) -> list[str]:
        self.entries(where, values, MAX_ENTRIES[where])
        return [self.text(f"{where}[{n}]", value, MAX_LABEL) for n, value in enumerate(values)]


def bound_asset(asset: Asset, *, strict: bool = False) -> list[str]:
    """Hold `asset` to the limits, in place; return its warnings, or raise OverLimit (TypeError on a wrong type).

    `strict` raises OverLimit where a value would be cut or dropped (see `_Boundary`).
    """
    if not strict and _within_limits(asset):
        return []
    check = _Boundary(strict=strict)
    asset.external_id = check.exact("external_id", asset.external_id, MAX_EXTERNAL_ID)
    if asset.type not in ASSET_TYPES:  # the one field no asset is without
        raise OverLimit(f"type {asset.type!r} is not one of {', '.join(ASSET_TYPES)}: an asset always has a type")
    for name, limit in MAX_TEXT.items():
        setattr(asset, name, check.optional_text(name, getattr(asset, name), limit))
    for name in ("duration", "season", "episode"):
        setattr(asset, name, check.integer(name, getattr(asset, name)))
    check.entries("images", asset.images, MAX_ENTRIES["images"])
    for n, image in enumerate(asset.images):
        where = f"images[{n}]"
        image.url = check.url(f"{where}.url", image.url)
        image.role = check.text(f"{where}.role", image.role, MAX_LABEL)
        image.width = check.integer(f"{where}.width", image.width)
        image.height = check.integer(f"{where}.height", image.height)
    asset.tags = check.labels("tags", asset.tags)
    asset.genres = check.labels("genres", asset.genres)
    check.entries("credits", asset.credits, MAX_ENTRIES["credits"])
    for n, credit in enumerate(asset.credits):
        credit.name = check.text(f"credits[{n}].name", credit.name, MAX_LABEL)
        credit.role = check.optional_text(f"credits[{n}].role", credit.role, MAX_LABEL)
    check.entries("ratings", asset.ratings, MAX_ENTRIES["ratings"])
    for n, rating in enumerate(asset.ratings):
        rating.value = check.text(f"ratings[{n}].value", rating.value, MAX_LABEL)
        rating.scheme = check.optional_text(f"ratings[{n}].scheme", rating.scheme, MAX_LABEL)
    if asset.geoblock is not None:
        _bound_geoblock(check, asset.geoblock)
    check.entries("editions", asset.editions, MAX_ENTRIES["editions"])
    for n, edition in enumerate(asset.editions):
        _bound_edition(check, f"editions[{n}]", edition)
    _bound_custom(check, asset)
    return check.warnings


def _within_limits(asset: Asset) -> bool:
    """Whether `bound_asset` would leave `asset` as it is, without a warning: nearly every asset is, and this says
    so in a fraction of the time, gathering the values by kind and checking each kind at once, without naming each
    value as the full pass must in case it warns.

    Conservative: anything unusual (a subclass of str, a float, a tuple for a list) answers False and takes the
    full pass, which decides.
    """
    external_id = asset.external_id
    if type(external_id) is not str or len(external_id) > MAX_EXTERNAL_ID or asset.type not in ASSET_TYPES:
        return False
    texts = [external_id]
    for name, limit in MAX_TEXT.items():
        value = getattr(asset, name)
        if value is not None:
            if type(value) is not str or len(value) > limit:
                return False
            texts.append(value)
    images, credits, ratings, editions = asset.images, asset.credits, asset.ratings, asset.editions
    tags, genres, geoblock = asset.tags, asset.genres, asset.geoblock
    countries = [] if geoblock is None else geoblock.countries
    if not (
        _entries(images, "images")
        and _entries(credits, "credits")
        and _entries(ratings, "ratings")
        and _entries(editions, "editions")
        and _entries(tags, "tags")
        and _entries(genres, "genres")
        and _entries(countries, "geoblock")
    ):
        return False
    labels = [*tags, *genres]  # required text of at most MAX_LABEL characters
    optional: list[Any] = []  # the same, or None
    urls: list[Any] = []
    counts: list[Any] = [asset.duration, asset.season, asset.episode]
    for url, role, width, height in map(_IMAGE, images):
        urls.append(url)
        labels.append(role)
        counts += (width, height)
    for name, role in map(_CREDIT, credits):
        labels.append(name)
        optional.append(role)
    for value, scheme in map(_RATING, ratings):
        labels.append(value)
        optional.append(scheme)
    for edition in editions:
        streams, subtitles = edition.streams, edition.subtitles
        if not (_entries(streams, "streams") and _entries(subtitles, "subtitles")):
            return False
        labels.append(edition.name)
        for url, kind, mime, drm, bitrate, width, height, drm_data in map(_STREAM, streams):
            if drm_data is not None:  # free-form JSON: only the full pass checks it
                return False
            urls.append(url)
            labels.append(kind)
            optional += (mime, drm)
            counts += (bitrate, width, height)
        for url, language, label, forced in map(_SUBTITLE, subtitles):
            if type(forced) is not bool:
                return False
            urls.append(url)
            optional += (language, label)
    if not (
        _TEXT.issuperset(map(type, labels))
        and _TEXT.issuperset(map(type, urls))
        and _TEXT.issuperset(map(type, countries))
        and _OPTIONAL_TEXT.issuperset(map(type, optional))
        and _OPTIONAL_COUNT.issuperset(map(type, counts))
    ):
        return False
    optional = [value for value in optional if value is not None]
    counts = [value for value in counts if value is not None]
    return (
        max(map(len, labels), default=0) <= MAX_LABEL
        and max(map(len, optional), default=0) <= MAX_LABEL
        and max(map(len, urls), default=0) <= MAX_URL
        and max(map(len, countries), default=0) <= 2
        and (not counts or (min(counts) >= 0 and max(counts) <= MAX_INTEGER))
        and _storable_all([*texts, *labels, *optional, *urls, *countries])
        and _custom_within_limits(asset)
    )


_TEXT = frozenset((str,))
_OPTIONAL_TEXT = frozenset((str, type(None)))
_OPTIONAL_COUNT = frozenset((int, type(None)))  # bool is a type of its own: the full pass warns about it
_IMAGE = attrgetter("url", "role", "width", "height")
_CREDIT = attrgetter("name", "role")
_RATING = attrgetter("value", "scheme")
_STREAM = attrgetter("url", "type", "mime", "drm", "bitrate", "width", "height", "drm_data")
_SUBTITLE = attrgetter("url", "language", "label", "forced")


def _custom_within_limits(asset: Asset) -> bool:
    custom = asset.custom
    return type(custom) is dict and len(custom) <= MAX_ENTRIES["custom"] and _custom_is_plain(custom)


def _custom_is_plain(custom: dict[Any, Any]) -> bool:
    return all(
        type(k) is str
        and type(v) is str
        and len(k) <= MAX_CUSTOM_KEY
        and len(v) <= MAX_CUSTOM_VALUE
        and storable(k + v) == k + v
        for k, v in custom.items()
    )


def _entries(values: Any, kind: str) -> bool:
    return type(values) is list and len(values) <= MAX_ENTRIES[kind]


def _storable_all(texts: list[str]) -> bool:
    joined = "".join(texts)
    return "\x00" not in joined and (joined.isascii() or _UNSTORABLE.search(joined) is None)


class _Unusual(Exception):
    """A value `encode_within_limits` leaves to the general path."""


def encode_within_limits(asset: Asset) -> EncodedAsset | None:
    """`encode_asset(asset)` when `bound_asset` would leave `asset` as it is without a warning; None otherwise.

    Nearly every asset of an import is such an asset: this holds it to the limits and encodes it in one pass over
    its values, where the two steps would each walk them. Conservative like `_within_limits`: anything unusual
    answers None, and the general path (`bound_asset`, then `encode_asset`) decides.
    """
    try:
        return _encode_plain(asset)
    except Exception:
        # _Unusual, or whatever an odd value raised: the general path raises it again, or decides otherwise.
        return None


_ALL_FIELDS = attrgetter("external_id", *ASSET_FIELDS)
_BOOL = frozenset((bool,))
_MAX_TITLE, _MAX_DESCRIPTION = MAX_TEXT["title"], MAX_TEXT["description"]
_MAX_SHORT_DESCRIPTION, _MAX_SERIES = MAX_TEXT["short_description"], MAX_TEXT["series"]


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=ORJSON_OPTIONS).decode()


def _encode_plain(asset: Asset) -> EncodedAsset:
    """`encode_within_limits`, raising where it answers None.

    The JSON fields are built as `field_to_json` builds them, and their leaves gathered by kind (as
    `_within_limits` does) to be checked at the end: exact str, int or None, bool where a flag is. orjson then
    writes exactly what the stdlib encoder would (see `encoding.ORJSON_OPTIONS`), and refuses lone surrogates; a
    NUL shows in its output as an escape.
    """
    (
        external_id,
        kind,
        title,
        description,
        short_description,
        duration,
        release_date,
        published_at,
        availability,
        images,
        tags,
        genres,
        credits,
        ratings,
        geoblock,
        editions,
        series,
        season,
        episode,
        custom,
    ) = _ALL_FIELDS(asset)
    free = (title, description, short_description, series)
    if (
        type(external_id) is not str
        or len(external_id) > MAX_EXTERNAL_ID
        or kind not in ASSET_TYPES
        or not _OPTIONAL_TEXT.issuperset(map(type, free))
        or (title is not None and len(title) > _MAX_TITLE)
        or (description is not None and len(description) > _MAX_DESCRIPTION)
        or (short_description is not None and len(short_description) > _MAX_SHORT_DESCRIPTION)
        or (series is not None and len(series) > _MAX_SERIES)
        or not _storable_all([external_id, *[text for text in free if text is not None]])
    ):
        raise _Unusual
    labels: list[Any] = []  # required text of at most MAX_LABEL characters
    optional: list[Any] = []  # the same, or None
    urls: list[Any] = []
    counts: list[Any] = [duration, season, episode]

    if availability is None:
        availability_text = "null"
    elif type(availability) is Availability:
        availability_text = _dumps({"start": _instant(availability.start), "end": _instant(availability.end)})
    else:
        raise _Unusual

    if type(images) is not list or len(images) > MAX_ENTRIES["images"]:
        raise _Unusual
    records: list[dict[str, Any]] = []
    for url, role, width, height in map(_IMAGE, images):
        urls.append(url)
        labels.append(role)
        counts += (width, height)
        record = {"url": url, "role": role}
        if width is not None:
            record["width"] = width
        if height is not None:
            record["height"] = height
        records.append(record)
    images_text = _dumps(records) if records else "[]"

    tags_text = _labels(tags, "tags", labels)
    genres_text = _labels(genres, "genres", labels)

    if type(credits) is not list or len(credits) > MAX_ENTRIES["credits"]:
        raise _Unusual
    records = []
    for name, role in map(_CREDIT, credits):
        labels.append(name)
        optional.append(role)
        records.append({"name": name} if role is None else {"name": name, "role": role})
    credits_text = _dumps(records) if records else "[]"

    if type(ratings) is not list or len(ratings) > MAX_ENTRIES["ratings"]:
        raise _Unusual
    records = []
    for value, scheme in map(_RATING, ratings):
        labels.append(value)
        optional.append(scheme)
        records.append({"value": value} if scheme is None else {"scheme": scheme, "value": value})
    ratings_text = _dumps(records) if records else "[]"

    if geoblock is None:
        geoblock_text = "null"
    else:
        if type(geoblock) is not Geoblock:
            raise _Unusual
        mode, countries = geoblock.mode, geoblock.countries
        if (
            type(mode) is not str
            or type(countries) is not list
            or len(countries) > MAX_ENTRIES["geoblock"]
            or not _TEXT.issuperset(map(type, countries))
            or max(map(len, countries), default=0) > 2
        ):
            raise _Unusual
        geoblock_text = _dumps({mode: countries})

    editions_text = _editions(editions, labels, optional, urls, counts)

    if (
        type(custom) is not dict
        or len(custom) > MAX_ENTRIES["custom"]
        or not _TEXT.issuperset(map(type, custom))
        or not _TEXT.issuperset(map(type, custom.values()))
        or max(map(len, custom), default=0) > MAX_CUSTOM_KEY
        or max(map(len, custom.values()), default=0) > MAX_CUSTOM_VALUE
    ):
        raise _Unusual
    custom_text = _dumps(custom) if custom else "{}"

    if not (
        _TEXT.issuperset(map(type, labels))
        and _TEXT.issuperset(map(type, urls))
        and _OPTIONAL_TEXT.issuperset(map(type, optional))
        and _OPTIONAL_COUNT.issuperset(map(type, counts))
    ):
        raise _Unusual
    optional = [value for value in optional if value is not None]
    counts = [value for value in counts if value is not None]
    texts = [
        availability_text,
        images_text,
        tags_text,
        genres_text,
        credits_text,
        ratings_text,
        geoblock_text,
        editions_text,
        custom_text,
    ]
    if not (
        max(map(len, labels), default=0) <= MAX_LABEL
        and max(map(len, optional), default=0) <= MAX_LABEL
        and max(map(len, urls), default=0) <= MAX_URL
        and (not counts or (min(counts) >= 0 and max(counts) <= MAX_INTEGER))
        and "\\u0000" not in "".join(texts)  # a NUL (or text that merely looks like one: the general path decides)
    ):
        raise _Unusual

    release_repr, release_text = scalar_texts(release_date)
    published_repr, published_text = scalar_texts(published_at)
    kind_repr, title_repr, description_repr, short_repr, duration_repr = map(
        repr, (kind, title, description, short_description, duration)
    )
    series_repr, season_repr, episode_repr = map(repr, (series, season, episode))
    columns = {
        "type": kind,
        "title": title,
        "description": description,
        "short_description": short_description,
        "duration": duration,
        "release_date": release_date,
        "published_at": published_at,
        "series": series,
        "season": season,
        "episode": episode,
        "availability": None if availability is None else availability_text,
        "images": images_text,
        "tags": tags_text,
        "genres": genres_text,
        "credits": credits_text,
        "ratings": ratings_text,
        "geoblock": None if geoblock is None else geoblock_text,
        "editions": editions_text,
        "custom": custom_text,
    }
    reprs = [
        kind_repr,
        title_repr,
        description_repr,
        short_repr,
        duration_repr,
        release_repr,
        published_repr,
        series_repr,
        season_repr,
        episode_repr,
    ]
    field_texts = (
        kind_repr,
        title_repr,
        description_repr,
        short_repr,
        duration_repr,
        release_text,
        published_text,
        *texts[:8],
        series_repr,
        season_repr,
        episode_repr,
        custom_text,
    )
    return encoded_asset(external_id, columns, reprs, texts, field_texts)


def _instant(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is not datetime:
        raise _Unusual
    return instant_texts(value)[1] if value.tzinfo is UTC and not value.fold else isoformat(value)


def _labels(values: Any, kind: str, labels: list[Any]) -> str:
    if type(values) is not list or len(values) > MAX_ENTRIES[kind]:
        raise _Unusual
    if not values:
        return "[]"
    labels += values
    return _dumps(values)


def _editions(editions: Any, labels: list[Any], optional: list[Any], urls: list[Any], counts: list[Any]) -> str:
    if type(editions) is not list or len(editions) > MAX_ENTRIES["editions"]:
        raise _Unusual
    if not editions:
        return "[]"
    records: list[dict[str, Any]] = []
    for edition in editions:
        streams, subtitles = edition.streams, edition.subtitles
        if (
            type(streams) is not list
            or len(streams) > MAX_ENTRIES["streams"]
            or type(subtitles) is not list
            or len(subtitles) > MAX_ENTRIES["subtitles"]
        ):
            raise _Unusual
        name = edition.name
        labels.append(name)
        stream_records: list[dict[str, Any]] = []
        for url, kind, mime, drm, bitrate, width, height, default, expires, drm_data in map(_PLAIN_STREAM, streams):
            if expires is not None or drm_data is not None or (default is not True and default is not False):
                raise _Unusual
            urls.append(url)
            labels.append(kind)
            optional += (mime, drm)
            counts += (bitrate, width, height)
            record = {"url": url, "type": kind, "default": default}
            if mime is not None:
                record["mime"] = mime
            if drm is not None:
                record["drm"] = drm
            if bitrate is not None:
                record["bitrate"] = bitrate
            if width is not None:
                record["width"] = width
            if height is not None:
                record["height"] = height
            stream_records.append(record)
        subtitle_records: list[dict[str, Any]] = []
        for url, language, label, forced, expires in map(_PLAIN_SUBTITLE, subtitles):
            if forced is not False or expires is not None:
                raise _Unusual
            urls.append(url)
            optional += (language, label)
            record = {"url": url}
            if language is not None:
                record["language"] = language
            if label is not None:
                record["label"] = label
            subtitle_records.append(record)
        records.append({"name": name, "streams": stream_records, "subtitles": subtitle_records})
    return _dumps(records)


_PLAIN_STREAM = attrgetter("url", "type", "mime", "drm", "bitrate", "width", "height", "default", "expires", "drm_data")
_PLAIN_SUBTITLE = attrgetter("url", "language", "label", "forced", "expires")


def _bound_geoblock(check: _Boundary, geoblock: Geoblock) -> None:
    check.entries("geoblock", geoblock.countries, MAX_ENTRIES["geoblock"])
    for n, code in enumerate(geoblock.countries):
        check.exact(f"geoblock[{n}]", code, 2)


def _bound_edition(check: _Boundary, where: str, edition: Edition) -> None:
    edition.name = check.text(f"{where}.name", edition.name, MAX_LABEL)
    check.entries(f"{where}.streams", edition.streams, MAX_ENTRIES["streams"])
    for n, stream in enumerate(edition.streams):
        at = f"{where}.streams[{n}]"
        stream.url = check.url(f"{at}.url", stream.url)
        stream.type = check.text(f"{at}.type", stream.type, MAX_LABEL)
        stream.mime = check.optional_text(f"{at}.mime", stream.mime, MAX_LABEL)
        stream.drm = check.optional_text(f"{at}.drm", stream.drm, MAX_LABEL)
        stream.bitrate = check.integer(f"{at}.bitrate", stream.bitrate)
        stream.width = check.integer(f"{at}.width", stream.width)
        stream.height = check.integer(f"{at}.height", stream.height)
        stream.drm_data = check.plain_json(f"{at}.drm_data", stream.drm_data, MAX_DRM_DATA)
    check.entries(f"{where}.subtitles", edition.subtitles, MAX_ENTRIES["subtitles"])
    for n, subtitle in enumerate(edition.subtitles):
        at = f"{where}.subtitles[{n}]"
        subtitle.url = check.url(f"{at}.url", subtitle.url)
        subtitle.language = check.optional_text(f"{at}.language", subtitle.language, MAX_LABEL)
        subtitle.label = check.optional_text(f"{at}.label", subtitle.label, MAX_LABEL)
        if not isinstance(subtitle.forced, bool):
            raise TypeError(f"{at}.forced is {type(subtitle.forced).__name__}, not true or false")


def _bound_custom(check: _Boundary, asset: Asset) -> None:
    custom = asset.custom
    check.entries("custom", custom, MAX_ENTRIES["custom"])
    if _custom_is_plain(custom):
        return  # the common case, checked without rebuilding the dict
    asset.custom = {
        check.exact(f"custom key {clip(str(key), 40)!r}", key, MAX_CUSTOM_KEY): check.text(
            f"custom[{clip(str(key), 40)!r}]", value, MAX_CUSTOM_VALUE
        )
        for key, value in custom.items()
    }


def check_field(name: str, value: Any) -> None:
    """Raise OverLimit when one field's value (model form, as `field_from_json` gives it) is beyond the limits."""
    probe = Asset(external_id="-")
    setattr(probe, name, value)
    bound_asset(probe, strict=True)


def bound_encoded(columns: dict[str, Any]) -> None:
    """Raise OverLimit when an encoded item (its column values) is larger than MAX_ITEM_CHARS altogether."""
    size = sum(map(len, [value for value in columns.values() if isinstance(value, str)]))
    if size > MAX_ITEM_CHARS:
        raise OverLimit(f"the item is {size:,} characters once encoded; the limit is {MAX_ITEM_CHARS:,}")
