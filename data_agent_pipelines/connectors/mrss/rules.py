"""The mapping's rules, written once for both readers: the values of one item, level by level -> one Asset.

A reader (`elements` for lxml, `lenient` for feedparser's fallback) turns an item into an `ItemValues`: one scope
(a dict of the values found at that level) per `media:content` of the full edition, per `media:group` and for the
item itself, plus the renditions and still images of its `media:content` elements; and the channel's defaults
into a scope of their own. It records every value through the `put`/`add_*` functions below, so a value reads
the same whichever parser found it. `build_asset` then decides precedence, editions, images, credits, ratings,
geoblock, custom keys, identity and type (the rules are listed in the package's docstring).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from ...model import Asset, Credit, Edition, Image, Rating, Stream, Subtitle
from ..streams import stream_type
from .values import (
    ItemError,
    dedupe,
    explicit_rating,
    geoblock,
    parse_availability,
    parse_date,
    parse_duration,
    parse_int,
)

DEFAULT_RATING_SCHEME = "urn:simple"
NO_ID_REASON = "the item has no guid, id or link, and no title, media URL or date to derive a stable id from"

Scope = dict[str, Any]


class ItemValues:
    """What a reader found in one item: scopes per level, renditions, still images, and the item's own scope."""

    __slots__ = (
        "content_scopes",
        "full",
        "group_scopes",
        "images",
        "media_content_seen",
        "scope",
        "trailer",
        "trailer_scopes",
    )

    def __init__(self) -> None:
        self.scope: Scope = {}
        self.content_scopes: list[Scope] = []
        self.trailer_scopes: list[Scope] = []
        self.group_scopes: list[Scope] = []
        self.full: list[Stream] = []
        self.trailer: list[Stream] = []
        self.images: list[Image] = []
        self.media_content_seen = False


# --- recording values ------------------------------------------------------------------------------------------


def put(scope: Scope, key: str, text: str | None) -> None:
    """A single value: the first non-blank one at a level wins, stripped."""
    if text and key not in scope:
        value = text.strip()
        if value:
            scope[key] = value


def add_text(scope: Scope, key: str, text: str | None) -> None:
    """One more value of a repeatable element (authors, categories, genres), stripped; blanks are skipped."""
    value = text.strip() if text else ""
    if value:
        scope.setdefault(key, []).append(value)


def add_keywords(scope: Scope, text: str | None) -> None:
    """Comma-separated keywords (`media:keywords`, `itunes:keywords`)."""
    if text:
        scope.setdefault("keywords", []).extend([word.strip() for word in text.split(",")])


def add_custom(scope: Scope, key: str, value: str | None) -> None:
    """A custom key/value: the first occurrence of a key at a level wins."""
    if value:
        scope.setdefault("custom", {}).setdefault(key, value.strip())


def add_thumbnail(scope: Scope, url: str | None, width: str | None, height: str | None) -> None:
    """`media:thumbnail`: an image of role `thumbnail`."""
    url = (url or "").strip()
    if url:
        image = Image(url=url, role="thumbnail", width=parse_int(width), height=parse_int(height))
        scope.setdefault("thumbnails", []).append(image)


def add_credit(scope: Scope, name: str | None, role: str | None) -> None:
    """`media:credit` with its role."""
    name = name.strip() if name else ""
    if name:
        scope.setdefault("credits", []).append(Credit(name=name, role=(role or "").strip() or None))


def add_rating(scope: Scope, value: str | None, scheme: str | None) -> None:
    """`media:rating`, scheme `urn:simple` when it names none."""
    value = value.strip() if value else ""
    if value:
        rating = Rating(value=value, scheme=(scheme or "").strip() or DEFAULT_RATING_SCHEME)
        scope.setdefault("ratings", []).append(rating)


def add_restriction(scope: Scope, relationship: str | None, kind: str | None, text: str | None) -> None:
    """`media:restriction`: only country restrictions count (a missing type is country)."""
    if (kind or "country").strip().lower() == "country":
        scope.setdefault("restrictions", []).append(((relationship or "").strip().lower(), text or ""))


def add_subtitle(scope: Scope, url: str | None, language: str | None, label: str | None) -> None:
    """`media:subTitle`: its MIME type becomes the label."""
    url = (url or "").strip()
    if url:
        subtitle = Subtitle(url=url, language=(language or "").strip() or None, label=label or None)
        scope.setdefault("subtitles", []).append(subtitle)


def add_enclosure(scope: Scope, url: str | None, mime: str | None) -> None:
    """`<enclosure>` or Atom `<link rel="enclosure">`: a rendition when the item has no `media:content`."""
    url = (url or "").strip()
    if url:
        scope.setdefault("enclosures", []).append((url, mime))


def add_content(item: ItemValues, scope: Scope, get: Callable[[str], str | None]) -> None:
    """One `media:content`, its attributes read through `get`, its own values already in `scope`.

    An image-typed one is a still image; a playable one a rendition of the full edition, or of the trailer when it
    is a sample. Its scope joins that edition's levels, the `isDefault` one first.
    """
    item.media_content_seen = True
    duration = get("duration")
    if duration:
        scope["duration"] = duration
    url = get("url")
    url = url.strip() if url else ""
    mime = get("type")
    mime = (mime.strip() or None) if mime else None
    width, height = parse_int(get("width")), parse_int(get("height"))
    if get("medium") == "image" or (mime and mime.startswith("image/")):
        if url:
            item.images.append(Image(url=url, role="still", width=width, height=height))
        return
    is_sample = get("expression") == "sample"
    default_flag = get("isDefault")
    is_default = bool(default_flag) and default_flag.strip().lower() == "true"
    if url:
        stream = Stream(
            url=url,
            type=stream_type(mime, url),
            mime=mime,
            bitrate=parse_int(get("bitrate")),
            width=width,
            height=height,
            default=is_default,
        )
        (item.trailer if is_sample else item.full).append(stream)
    scopes = item.trailer_scopes if is_sample else item.content_scopes
    if is_default:
        scopes.insert(0, scope)
    else:
        scopes.append(scope)


# --- deciding the asset ----------------------------------------------------------------------------------------


def build_asset(item: ItemValues, channel: Scope, default_type: str, origin_digest: str | None = None) -> Asset:
    """The asset of one item's values (raises ItemError when the item cannot be used)."""
    scope = item.scope
    chain = [*item.content_scopes, *item.group_scopes, scope, channel]
    first = _first_values(chain)
    editions = _editions(item, scope, first.get("subtitles"))
    first_url = editions[0].streams[0].url if editions and editions[0].streams else None
    title = scope.get("title") or first.get("media_title") or scope.get("itunes_title")
    description = (
        first.get("media_description")
        or scope.get("description")
        or scope.get("summary")
        or scope.get("content")
        or scope.get("itunes_summary")
    )
    published_raw = scope.get("published") or scope.get("updated") or scope.get("dc_date")
    external_id = (
        scope.get("guid") or scope.get("id") or scope.get("link") or _fallback_id(title, first_url, published_raw)
    )
    if not external_id:
        raise ItemError(NO_ID_REASON)
    episode_type = scope.get("episode_type")
    episode = parse_int(scope.get("episode"))
    asset_type = _asset_type(default_type, episode_type, "episode" in scope)
    keywords = first.get("keywords")
    categories = scope.get("categories")
    genres = first.get("genres")
    asset = Asset(
        external_id=external_id,
        type=asset_type,
        title=title,
        description=description,
        short_description=scope.get("short_description"),
        duration=_first_parsed(chain, "duration", parse_duration) if "duration" in first else None,
        published_at=parse_date(scope.get("published"))
        or parse_date(scope.get("updated"))
        or parse_date(scope.get("dc_date")),
        availability=_first_parsed(chain, "valid", parse_availability) if "valid" in first else None,
        images=_images(item, first.get("thumbnails"), scope, channel),
        tags=dedupe(keywords + categories if keywords and categories else keywords or categories or []),
        genres=dedupe(genres) if genres else [],
        credits=_credits(first.get("credits"), scope, channel),
        ratings=_ratings(first.get("ratings"), scope.get("explicit") or channel.get("explicit")),
        geoblock=geoblock(first.get("restrictions") or []),
        editions=editions,
        custom=_custom_values(chain, scope),
        origin_digest=origin_digest,
    )
    if asset_type in ("episode", "trailer") and (episode_type or "episode" in scope):
        asset.series = channel.get("channel_title")
        asset.season = parse_int(scope.get("season"))
        asset.episode = episode
    return asset


def _first_values(chain: list[Scope]) -> Scope:
    """For every key, the first non-empty value along `chain`, most specific level first.

    One pass over the levels instead of a search of the chain per key: `first.get(key)` is what a search for the
    first level with a non-empty `key` would find (None when there is none).
    """
    first: Scope = {}
    for level in chain:
        for key, value in level.items():
            if value and key not in first:
                first[key] = value
    return first


def _pick(chain: list[Scope], key: str) -> Any:
    for scope in chain:
        value = scope.get(key)
        if value:
            return value
    return None


def _first_parsed(chain: list[Scope], key: str, parse: Callable[[str], Any]) -> Any:
    for scope in chain:
        raw = scope.get(key)
        if raw:
            value = parse(raw)
            if value is not None:
                return value
    return None


def _fallback_id(title: str | None, url: str | None, published: str | None) -> str | None:
    parts = [title or "", url or "", (published or "").strip()]
    if not any(parts):
        return None
    return "sha1:" + hashlib.sha1("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()


def _asset_type(default_type: str, episode_type: str | None, has_episode: bool) -> str:
    if episode_type and episode_type.strip().lower() == "trailer":
        return "trailer"
    return "episode" if episode_type or has_episode else default_type


def _editions(item: ItemValues, scope: Scope, subtitles: list[Subtitle] | None) -> list[Edition]:
    full = item.full
    if not item.media_content_seen:
        full = [
            Stream(url=url, type=stream_type(mime, url), mime=(mime or "").strip() or None)
            for url, mime in scope.get("enclosures", ())
        ]
    editions = []
    if full or subtitles:
        editions.append(Edition(name="full", streams=full, subtitles=list(subtitles or ())))
    trailer_subtitles = _pick(item.trailer_scopes, "subtitles") if item.trailer_scopes else None
    if item.trailer or trailer_subtitles:
        editions.append(Edition(name="trailer", streams=item.trailer, subtitles=list(trailer_subtitles or ())))
    return editions


def _images(item: ItemValues, thumbnails: list[Image] | None, scope: Scope, channel: Scope) -> list[Image]:
    images = [*thumbnails, *item.images] if thumbnails else list(item.images)
    if images:
        seen: set[str] = set()
        return [image for image in images if not (image.url in seen or seen.add(image.url))]
    poster = scope.get("itunes_image") or channel.get("itunes_image") or channel.get("channel_image")
    return [Image(url=poster, role="poster")] if poster else []


def _credits(credits: list[Credit] | None, item: Scope, channel: Scope) -> list[Credit]:
    if credits:
        return list(credits)
    authors = item.get("authors") or ()
    author = item.get("itunes_author") or (authors[0] if authors else None) or channel.get("itunes_author")
    return [Credit(name=author, role="author")] if author else []


def _ratings(ratings: list[Rating] | None, explicit_word: str | None) -> list[Rating]:
    found = list(ratings or ())
    explicit = explicit_rating(explicit_word)
    if explicit is not None:
        found.append(explicit)
    return found


def _custom_values(chain: list[Scope], scope: Scope) -> dict[str, str]:
    custom: dict[str, str] = {}
    link = scope.get("link")
    if link:
        custom["link"] = link
    for level in chain[:-1]:
        values = level.get("custom")
        if values:
            for key, value in values.items():
                custom.setdefault(key, value)
    return custom
