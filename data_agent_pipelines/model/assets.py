"""Asset values: what a connector produces, field by field, and their JSON form.

Dates are `datetime.date`, instants are timezone-aware `datetime.datetime` in UTC; `asset_to_dict` /
`asset_from_dict` give the JSON form of the asset model (`data-agent assets show`, docs/cli.md), which is also
what the content hash is computed over (see `encoding.py`). Values added to the model after assets were stored (a
link's `expires`, a stream's `drm_data`, a subtitle's `forced`) appear in the JSON form only when set, so the
hashes of assets without them stay the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

ASSET_TYPES = ("movie", "episode", "series", "season", "clip", "channel", "trailer", "live", "broadcast", "podcast")


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
    # When the origin's signed link stops working; None for a link that does not expire.
    expires: datetime | None = None
    # What a player needs for the DRM beside the key system (license or certificate URLs…), as the origin gives it.
    drm_data: dict[str, Any] | None = None


@dataclass(slots=True)
class Subtitle:
    url: str
    language: str | None = None
    label: str | None = None
    forced: bool = False  # the player shows it without being asked (foreign dialogue in the audio language)
    expires: datetime | None = None  # as for Stream


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
    # Why the origin does not publish the asset (private, still transcoding…); None when it does. Not a field: the
    # asset is stored with status `unpublished` and the reason is reported with the item.
    unpublished: str | None = field(default=None, compare=False)


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
                            "expires": isoformat(s.expires),
                            "drm_data": s.drm_data,
                        }
                    )
                    | {"default": s.default}
                    for s in e.streams
                ],
                "subtitles": [_subtitle_to_json(t) for t in e.subtitles],
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
                streams=[_stream_from_json(s) for s in e.get("streams", [])],
                subtitles=[_subtitle_from_json(t) for t in e.get("subtitles", [])],
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


def _subtitle_to_json(subtitle: Subtitle) -> dict[str, Any]:
    values = _drop_none(
        {
            "url": subtitle.url,
            "language": subtitle.language,
            "label": subtitle.label,
            "expires": isoformat(subtitle.expires),
        }
    )
    return values | {"forced": True} if subtitle.forced else values


def _stream_from_json(values: dict[str, Any]) -> Stream:
    return Stream(**{**values, "expires": parse_instant(values.get("expires"))})


def _subtitle_from_json(values: dict[str, Any]) -> Subtitle:
    forced = values.get("forced", False)
    if not isinstance(forced, bool):
        raise ValueError(f"a subtitle's forced must be true or false, not {str(forced)[:40]!r}")
    return Subtitle(**{**values, "forced": forced, "expires": parse_instant(values.get("expires"))})


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
