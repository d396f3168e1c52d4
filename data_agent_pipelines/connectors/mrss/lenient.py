"""The feedparser reader, for documents that are not well-formed XML only: an entry -> the values `rules` maps.

feedparser reads what lxml refuses, but by the time it hands over an entry it has flattened it: what the lxml
reader keeps apart is merged here, and `rules` can only decide with what is left. What is lost, and therefore
maps differently from a well-formed document:

- Levels: `media:group` and `media:content` children are merged into the entry, so a group's or a rendition's own
  title, description, thumbnails, credits... count as the item's. Each `media:content` keeps only its attributes
  (its scope holds its duration). Channel elements after the first item count as channel defaults too.
- One of several: a second `media:rating` or `media:restriction` overwrites part of the first (the attributes of
  the first, the text of the last survive); of several `media:subTitle` only the last is kept.
- Origins: `<category domain>`, `media:category`, `itunes:category` and `itunes:keywords` all become tags with a
  scheme (taken as genres here); `description`, `media:description` and `itunes:summary` share one summary and
  content; `itunes:author`, `dc:creator` and `managingEditor` become one author (the channel's is not used);
  `itunes:explicit` only says `yes` or `clean`. Custom values: only those whose element feedparser names
  unambiguously.
- Case: feedparser lowercases MIME types (`application/x-mpegURL` arrives as `application/x-mpegurl`).
"""

from __future__ import annotations

import io
from typing import Any

import feedparser

from ...model import Asset
from .document import UnreadableDocument
from .rules import (
    ItemValues,
    Scope,
    add_content,
    add_credit,
    add_custom,
    add_enclosure,
    add_keywords,
    add_rating,
    add_restriction,
    add_subtitle,
    add_text,
    add_thumbnail,
    build_asset,
    put,
)

# feedparser's key of an element -> the custom key the lxml reader gives it (feedparser lowercases the rest).
_CUSTOM_KEYS = {"yt_videoid": "yt:videoId", "media_license": "media:license", "comments": "comments"}


def parse_leniently(data: bytes, content_type: str | None, where: str) -> Any:
    """feedparser's reading of a whole document that lxml found not well-formed (`where` says why)."""
    headers = {"content-type": content_type} if content_type else None
    # A file object, not bytes: feedparser opens bytes that look like a file name as a file.
    try:
        return feedparser.parse(
            io.BytesIO(data), response_headers=headers, resolve_relative_uris=False, sanitize_html=False
        )
    except Exception as exc:  # feedparser has its own bugs (e.g. ValueError on "&#x110000;")
        raise UnreadableDocument(
            f"the document is not well-formed XML ({where}) and the lenient parser could not read it either "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def channel_scope(feed: Any) -> Scope:
    """The channel defaults feedparser kept of the feed."""
    scope: Scope = {}
    put(scope, "channel_title", feed.get("title"))
    put(scope, "channel_image", (feed.get("image") or {}).get("href"))
    for tag in feed.get("tags") or ():
        if tag.get("scheme"):  # the channel's plain categories are no default (its keywords come below)
            add_text(scope, "genres", tag.get("term") or tag.get("label"))
    _shared_values(feed, scope)
    return scope


def map_entry(entry: Any, channel: Scope, default_type: str) -> Asset:
    """One feedparser entry -> Asset, by the same rules as an item lxml read (raises ItemError when unusable)."""
    item = ItemValues()
    scope = item.scope
    put(scope, "guid", entry.get("id"))
    put(scope, "link", entry.get("link"))
    put(scope, "title", entry.get("title"))
    put(scope, "itunes_title", entry.get("itunes_title"))
    put(scope, "description", entry.get("summary"))
    if entry.get("content"):
        put(scope, "content", entry["content"][0].get("value"))
    put(scope, "short_description", entry.get("subtitle"))
    put(scope, "published", entry.get("published"))
    # dict.get: FeedParserDict answers a missing `updated` with `published` (and a DeprecationWarning).
    put(scope, "updated", dict.get(entry, "updated"))
    put(scope, "duration", entry.get("itunes_duration"))
    put(scope, "itunes_image", (entry.get("image") or {}).get("href"))
    put(scope, "episode", entry.get("itunes_episode"))
    put(scope, "season", entry.get("itunes_season"))
    put(scope, "episode_type", entry.get("itunes_episodetype"))
    add_text(scope, "authors", entry.get("author"))
    for tag in entry.get("tags") or ():
        add_text(scope, "genres" if tag.get("scheme") else "categories", tag.get("term") or tag.get("label"))
    _shared_values(entry, scope)
    add_custom(scope, "player_url", ((entry.get("media_player") or {}).get("url") or "").strip())
    for key, custom_key in _CUSTOM_KEYS.items():
        value = entry.get(key)
        if isinstance(value, dict):
            value = value.get("content") or value.get("url") or value.get("href")
        add_custom(scope, custom_key, value if isinstance(value, str) else None)
    for content in entry.get("media_content") or ():
        # feedparser lowercases attribute names (isDefault -> isdefault).
        add_content(item, {}, lambda name, content=content: content.get(name.lower()))
    for link in entry.get("links") or ():
        if link.get("rel") == "enclosure":
            add_enclosure(scope, link.get("href"), link.get("type"))
    return build_asset(item, channel, default_type)


def _shared_values(context: Any, scope: Scope) -> None:
    """What feedparser keeps alike of the channel and of an entry."""
    for thumbnail in context.get("media_thumbnail") or ():
        add_thumbnail(scope, thumbnail.get("url"), thumbnail.get("width"), thumbnail.get("height"))
    for credit in context.get("media_credit") or ():
        add_credit(scope, credit.get("content"), credit.get("role"))
    rating = context.get("media_rating") or {}
    add_rating(scope, rating.get("content"), rating.get("scheme"))
    restriction = context.get("media_restriction")
    if restriction:
        codes = restriction.get("content") or []
        text = " ".join(codes) if isinstance(codes, list) else str(codes)
        add_restriction(scope, restriction.get("relationship"), restriction.get("type"), text)
    subtitle = context.get("media_subtitle")
    if isinstance(subtitle, dict):
        add_subtitle(scope, subtitle.get("href") or subtitle.get("url"), subtitle.get("lang"), subtitle.get("type"))
    add_keywords(scope, context.get("media_keywords"))
    put(scope, "valid", context.get("validity"))
    explicit = context.get("itunes_explicit")
    if explicit is not None:
        put(scope, "explicit", "yes" if explicit else "clean")


def entry_id(entry: Any) -> str | None:
    """The id an entry states (its guid or Atom id, else its link); None when it states none."""
    return (entry.get("id") or "").strip() or (entry.get("link") or "").strip() or None


def raw_entry(entry: Any, limit: int) -> dict[str, str]:
    """The text values of an entry, the first `limit` characters of each: what a failed item keeps."""
    return {key: value[:limit] for key, value in entry.items() if isinstance(value, str)}
