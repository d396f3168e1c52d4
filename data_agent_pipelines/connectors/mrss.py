"""Media RSS / RSS 2.0 / Atom feeds -> `model.Asset` values, one item at a time.

Pure Python: no Dagster, no database, no HTTP. `parse_feed(path)` checks the raw body (DESIGN.md §7), then
streams it through `lxml.etree.iterparse`; a document that is not well-formed is finished by feedparser.

Rules where a feed can say several things (documented here once, tested in test_mrss.py):

- Precedence: for every field, the most specific level that carries it wins: `media:content` (of the full
  edition, the `isDefault` one first) > `media:group` > item > channel. Channel-level media elements, `itunes:*`
  and `<image>` seen before the first item apply as defaults to every item. The title is the item's own
  `<title>` first (then `media:title`, then `itunes:title`).
- Editions: every playable `media:content` (in a `media:group` or loose in the item) is a rendition of the `full`
  edition, except `expression="sample"` ones, which form the `trailer` edition. `<enclosure>` (RSS) or
  `<link rel="enclosure">` (Atom) count only when the item has no `media:content`. `media:content` with
  `medium="image"` (or an image MIME type) is an image (role `still`), not a stream. `media:player` is not a
  stream: its url lands in `custom["player_url"]`.
- Subtitles: `media:subTitle` (`href`, `lang`; the `type` becomes the label) at any level. `media:text` is
  transcript text, not a subtitle file: it is kept in `custom["media:text"]` like any other simple element.
- Images: `media:thumbnail` -> role `thumbnail`; `itunes:image` (item, then channel) or the channel `<image>`
  -> role `poster`, only when the item has no other image.
- Tags: `media:keywords` and `itunes:keywords` (comma-separated), then `<category>` without `domain`/`scheme`;
  trimmed and de-duplicated in order. Genres: `media:category` and `itunes:category` (nested ones too).
- Credits: `media:credit` (with its role); when there is none, `itunes:author`, `dc:creator` or the Atom
  author become one credit with role `author`.
- Ratings: every `media:rating`, scheme default `urn:simple`; `itunes:explicit` adds
  `Rating("explicit" | "clean", scheme="urn:itunes:explicit")`.
- Geoblock: `media:restriction type="country"` (a missing type counts as country). Several allow lists are
  united, several deny lists too. When allow and deny both occur, deny wins: the asset is allowed in the allowed
  countries minus the denied ones. `allow all` / `deny none` mean no geoblock; `deny all` / `allow none` mean
  allowed nowhere (`Geoblock("allow", [])`). A code that is not two letters, or a relationship that is neither
  allow nor deny, fails the item: a wrong geoblock is worse than none.
- Identity: `guid`, else Atom `id`, else the item's link, else `"sha1:" + sha1(title, first media url,
  publication date)` (joined by U+001F). An item with none of these fails: a description alone would give an id
  that changes with every edit. A repeated id: the first item wins, later ones are reported once per id as an
  ItemFailure.
- Type: `default_type`, except items with `itunes:episode` or `itunes:episodeType` (-> `episode`, or `trailer`
  for `episodeType=trailer`), which also get `series` = channel title and `season`/`episode` numbers.
- custom: a child element of the item, group or content that no rule reads and that has no child elements of its
  own, keyed `prefix:local` with the usual prefix of well-known namespaces (`media`, `itunes`, `yt`, `dc`...),
  else the document's prefix, else the bare local name (RSS core elements such as `comments`). The value is its
  stripped text, else its `url`/`href` attribute; the first occurrence of a key wins and a more specific level
  wins. The item's link is kept as `custom["link"]`.
- Unparseable optional values (a date, a duration, a number) are dropped silently; the item still imports.
- Encodings: the XML declaration (or BOM) decides; when the document declares none, the charset of the HTTP
  Content-Type is used, by lxml and by feedparser.
"""

from __future__ import annotations

import codecs
import email.utils
import functools
import hashlib
import io
import math
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
from lxml import etree

from .. import limits, model
from ..errors import DocumentError
from ..model import (
    Asset,
    Availability,
    Credit,
    Edition,
    Geoblock,
    Image,
    ItemFailure,
    KnownAsset,
    Rating,
    Source,
    Stream,
    Subtitle,
)
from ..net import HttpClient
from . import standard_keys, streams
from .base import Fetched, KnownItem, download_document
from .streams import stream_type

__all__ = ["FeedParse", "MediaRssConnector", "UnreadableDocument", "UnsafeDocument", "parse_feed"]


class UnsafeDocument(DocumentError):
    """The document was refused before any parser saw it; the message says why."""


class UnreadableDocument(DocumentError):
    """The document holds nothing usable (not a feed); the message says what it looks like."""


# --- namespaces and qualified tag names --------------------------------------------------------------------------

MEDIA_NS = "http://search.yahoo.com/mrss/"
MEDIA_NS_NO_SLASH = "http://search.yahoo.com/mrss"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
DCTERMS_NS = "http://purl.org/dc/terms/"
DC_NS = "http://purl.org/dc/elements/1.1/"
ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM03_NS = "http://purl.org/atom/ns#"
RSS1_NS = "http://purl.org/rss/1.0/"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

_KNOWN_PREFIXES = {
    MEDIA_NS: "media",
    MEDIA_NS_NO_SLASH: "media",
    ITUNES_NS: "itunes",
    DCTERMS_NS: "dcterms",
    DC_NS: "dc",
    ATOM_NS: "atom",
    ATOM03_NS: "atom",
    CONTENT_NS: "content",
    "http://www.youtube.com/xml/schemas/2015": "yt",
    "http://www.google.com/schemas/play-podcasts/1.0": "googleplay",
    "https://podcastindex.org/namespace/1.0": "podcast",
}
# Namespaces whose elements are item structure, not extensions: their unread simple elements keep the bare name.
_CORE_NAMESPACES = ("", RSS1_NS, ATOM_NS, ATOM03_NS)

ITEM_TAGS = ("item", f"{{{RSS1_NS}}}item", f"{{{ATOM_NS}}}entry", f"{{{ATOM03_NS}}}entry")
FEED_ROOTS = frozenset(("rss", f"{{{RDF_NS}}}RDF", f"{{{ATOM_NS}}}feed", f"{{{ATOM03_NS}}}feed"))

NOTE_NOT_WELL_FORMED = (
    "the document is not well-formed XML ({where}); it was read with the lenient parser, so assets missing "
    "from it are not removed"
)
MAX_PROLOG_BYTES = 1 << 20
MAX_RAW_ITEM_CHARS = 4096
EXPLICIT_SCHEME = "urn:itunes:explicit"
DEFAULT_RATING_SCHEME = "urn:simple"

Scope = dict[str, Any]
Handler = Callable[["_Item", Any, Scope], None]


class _ItemError(ValueError):
    """An item value that makes the item unusable; the message is the failure reason."""


# --- small value parsers -----------------------------------------------------------------------------------------


def _text(el: Any) -> str:
    text = el.text
    return text.strip() if text else ""


def _int(value: str | None) -> int | None:
    if not value:
        return None
    if value.isascii() and value.isdigit():  # the common case, without the float round trip
        return int(value)
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return int(number)


_HMS_WORDS = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?:in)?)?(?:(\d+(?:\.\d+)?)s(?:ec)?)?$")


def parse_duration(text: str | None) -> int | None:
    """Whole seconds from "SS", "MM:SS", "HH:MM:SS" (fractions allowed), "1h2m3s" or ISO "PT1H2M3S"; else None."""
    if not text:
        return None
    value = text.strip().lower()
    try:
        if ":" in value:
            parts = value.split(":")
            if len(parts) > 3:
                return None
            seconds = 0.0
            for part in parts:
                seconds = seconds * 60 + float(part)
        else:
            seconds = float(value)
    except ValueError:
        match = _HMS_WORDS.match(value.removeprefix("pt").replace(" ", ""))
        if match is None or not any(match.groups()):
            return None
        hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return int(seconds + 0.5)


_LOOSE_DATE_FORMATS = (
    "%b %d %Y %I:%M:%S %p",
    "%b %d %Y %H:%M:%S",
    "%B %d, %Y %I:%M %p",
    "%B %d, %Y",
    "%d %b %Y %H:%M:%S",
    "%d %B %Y %H:%M:%S",
    "%d %b %Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y",
)
_WEEKDAY_PREFIX = re.compile(r"^[A-Za-z]{3,9},?\s+")
_TWELVE_HOUR = re.compile(r"\d\s*[AaPp]\.?[Mm]\b")
_UTC_SUFFIX = re.compile(r"\s+(?:GMT|UTC|UT|Z)$", re.IGNORECASE)


_RFC822_GMT = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([1-9]\d{3}) "
    r"(\d\d):(\d\d):(\d\d) (?:GMT|UT|UTC|Z|\+0000)"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


def parse_date(text: str | None) -> datetime | None:
    """An instant in UTC from RFC 822 (and common non-RFC forms) or ISO 8601; no offset means UTC; else None."""
    if not text:
        return None
    value = text.strip()
    if not value:
        return None
    strict = _RFC822_GMT.fullmatch(value)
    if strict is not None:
        # The form nearly every feed uses, in UTC: read directly (email.utils takes several times longer).
        day, month, year, hour, minute, second = strict.groups()
        try:
            return datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=UTC)
        except ValueError:
            return None
    parsed: datetime | None = None
    if value[0].isdigit() and len(value) >= 10 and value[4] == "-":
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None and _TWELVE_HOUR.search(value):
        # email.utils would silently ignore the AM/PM marker.
        parsed = _parse_loose_date(value)
    if parsed is None:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = _parse_loose_date(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


def _parse_loose_date(value: str) -> datetime | None:
    value = _UTC_SUFFIX.sub("", _WEEKDAY_PREFIX.sub("", value)).strip()
    for fmt in _LOOSE_DATE_FORMATS:
        for candidate_fmt in (fmt, fmt + " %z"):
            try:
                return datetime.strptime(value, candidate_fmt)
            except ValueError:
                continue
    return None


_VALID_PART = re.compile(r"(\w+)\s*=\s*([^;]*)")


def parse_availability(text: str | None) -> Availability | None:
    """`start=...; end=...; scheme=W3C-DTF` (DCMI period) in any order or spacing -> Availability, or None."""
    if not text:
        return None
    parts = {key.lower(): value.strip() for key, value in _VALID_PART.findall(text)}
    start, end = parse_date(parts.get("start")), parse_date(parts.get("end"))
    if start is None and end is None:
        return None
    return Availability(start=start, end=end)


def _geoblock(restrictions: list[tuple[str, str]]) -> Geoblock | None:
    """Fold (relationship, text) pairs of country restrictions into one Geoblock (deny wins over allow)."""
    allowed: list[str] | None = None
    denied: list[str] = []
    for relationship, text in restrictions:
        codes = text.replace(",", " ").split()
        words = {code.lower() for code in codes}
        if relationship not in ("allow", "deny"):
            raise _ItemError(f"media:restriction has relationship {relationship!r}: expected allow or deny")
        if not codes or words == {"none"}:
            if relationship == "allow":
                allowed = allowed or []
            continue
        if words == {"all"}:
            if relationship == "deny":
                allowed = []
                denied = []
            continue
        bad = [code for code in codes if len(code) != 2 or not code.isascii() or not code.isalpha()]
        if bad:
            raise _ItemError(f"media:restriction lists {', '.join(bad)}: expected two-letter country codes")
        target = denied if relationship == "deny" else (allowed := allowed or [])
        target.extend(code.upper() for code in codes if code.upper() not in target)
    if allowed is not None:
        return Geoblock(mode="allow", countries=[code for code in allowed if code not in denied])
    return Geoblock(mode="deny", countries=denied) if denied else None


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


# --- the safety check ----------------------------------------------------------------------------------------------

# Comments and processing instructions are skipped so that markup inside them is not taken for the root element;
# quoted strings (DOCTYPE system ids) likewise.
_PROLOG_TOKEN = re.compile(
    rb"<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z)|\"[^\"]*(?:\"|\Z)|'[^']*(?:'|\Z)|<!\s*(ENTITY)|<([A-Za-z_:\x80-\xff][^\s/>]*)",
    re.DOTALL | re.IGNORECASE,
)


def _ascii_view(data: bytes) -> bytes:
    """The bytes as an ASCII-compatible encoding, so that markup can be searched in UTF-16/32 documents too."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32")):
        if data.startswith(bom):
            return data.decode(codec, "ignore").encode("utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "ignore").encode("utf-8")
    head = data[:4]
    if head.startswith(b"<\x00\x00\x00") or head.startswith(b"\x00\x00\x00<"):
        return data.decode("utf-32-le" if head[0] else "utf-32-be", "ignore").encode("utf-8")
    if head.startswith(b"<\x00") or head.startswith(b"\x00<"):
        return data.decode("utf-16-le" if head[0] else "utf-16-be", "ignore").encode("utf-8")
    return data


_XML_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
_ENTITIES_DECLARED = (
    "the document declares XML entities (<!ENTITY> in its DOCTYPE), which can read local files or "
    "exhaust memory; feeds do not need them: ask the publisher to remove the DOCTYPE"
)


def _prolog_views(data: bytes, content_type: str | None) -> list[bytes]:
    """The start of the document as each encoding a parser may read it in, as ASCII-compatible bytes.

    A parser decodes the document with its declared encoding (or the HTTP charset): in UTF-7, say, "<!ENTITY" is
    written "+ADwAIQ-ENTITY", invisible to a scan of the raw bytes, so the scan is repeated on each decoding.
    """
    raw = _ascii_view(data)
    views = [raw]
    declared = _XML_DECLARED_ENCODING.match(raw)
    for encoding in (declared.group(1).decode("ascii") if declared else None, _http_charset(content_type)):
        if not encoding:
            continue
        try:
            codec = codecs.lookup(encoding)
        except LookupError:
            if _libxml2_knows(encoding):
                raise UnsafeDocument(
                    f"the document is encoded as {encoding!r}, which cannot be checked for unsafe content; "
                    "ask the publisher to serve it as UTF-8"
                ) from None
            continue
        if codec.name in ("utf-8", "ascii", "latin-1", "iso8859-1", "cp1252"):
            continue  # ASCII-compatible: markup is the same bytes as in the raw view
        views.append(data.decode(codec.name, "ignore").encode("utf-8"))
    return views


def _check_prolog(path: str | os.PathLike[str], content_type: str | None = None) -> str | None:
    """Refuse entity declarations before the root element; return the root element's name (None if there is none)."""
    with Path(path).open("rb") as file:
        data = file.read(MAX_PROLOG_BYTES + 1)
    if not data.strip():
        raise UnreadableDocument("the URL returned an empty document, not a feed: check the feed URL")
    root = None
    for view in _prolog_views(data[:MAX_PROLOG_BYTES], content_type):
        for match in _PROLOG_TOKEN.finditer(view):
            if match.group(1):
                raise UnsafeDocument(_ENTITIES_DECLARED)
            if match.group(2):
                root = root or match.group(2).decode("utf-8", "replace")
                break
    if root is None and len(data) > MAX_PROLOG_BYTES:
        raise UnsafeDocument("the document has more than 1 MiB before its first element; it was not read")
    return root


def _describe_unreadable(data: bytes, root: str | None) -> str:
    """A message a customer can act on, saying what the document looks like instead of a feed."""
    view = _ascii_view(data[:4096]).lstrip().lower()
    if (root or "").lower() == "html" or view.startswith(b"<!doctype html") or b"<html" in view:
        return "the URL returned an HTML page, not a feed: check the feed URL or whether it needs a login"
    if not view:
        return "the URL returned an empty document, not a feed: check the feed URL"
    if root is None and view.startswith(b"<"):
        return "the URL returned an XML document without any element (empty or only comments), not a feed"
    if b"\x00" in view or sum(byte < 9 or 13 < byte < 32 for byte in view) > len(view) // 20:
        return "the URL returned binary data, not a feed: check the feed URL"
    if root is None:
        return "the URL returned text that is not XML, not a feed: check the feed URL"
    return f"the URL returned an XML document whose root element is <{root}>, not an RSS or Atom feed"


_DECLARED_ENCODING = re.compile(rb"^<\?xml[^>]*encoding", re.IGNORECASE)


def _http_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip(" \"'"):
            charset = value.strip(" \"'")
            try:
                is_text = codecs.lookup(charset)._is_text_encoding
            except LookupError:
                return None
            return charset if is_text else None
    return None


@functools.cache
def _libxml2_knows(encoding: str) -> bool:
    try:
        etree.fromstring(b"<a/>", etree.XMLParser(encoding=encoding))
    except (LookupError, etree.XMLSyntaxError):
        return False
    return True


def _lxml_encoding(path: str | os.PathLike[str], content_type: str | None) -> str | None:
    """The HTTP charset, when the document itself declares no encoding (no BOM, no encoding="...")."""
    charset = _http_charset(content_type)
    if charset is None or not _libxml2_knows(charset):
        return None
    with Path(path).open("rb") as file:
        head = file.read(256)
    if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head[:4]:
        return None
    return None if _DECLARED_ENCODING.match(head.lstrip()) else charset


# --- one item, as lxml sees it ---------------------------------------------------------------------------------


class _Item:
    """What the handlers collect from one item: scopes per level, renditions, images, and the custom values."""

    __slots__ = ("content_scopes", "full", "group_scopes", "images", "media_content_seen", "trailer", "trailer_scopes")

    def __init__(self) -> None:
        self.content_scopes: list[Scope] = []
        self.trailer_scopes: list[Scope] = []
        self.group_scopes: list[Scope] = []
        self.full: list[Stream] = []
        self.trailer: list[Stream] = []
        self.images: list[Image] = []
        self.media_content_seen = False


def _walk(item: _Item, el: Any, scope: Scope, handlers: dict[str, Handler], collect_custom: bool) -> None:
    for child in el:
        handler = handlers.get(child.tag)
        if handler is not None:
            handler(item, child, scope)
        elif collect_custom and len(child) == 0 and isinstance(child.tag, str):
            _custom(child, scope)


_custom_keys: dict[str, str] = {}


def _custom_key(el: Any) -> str:
    tag = el.tag
    key = _custom_keys.get(tag)
    if key is None:
        namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        if namespace in _CORE_NAMESPACES:
            key = local
        else:
            prefix = _KNOWN_PREFIXES.get(namespace) or el.prefix
            key = f"{prefix}:{local}" if prefix else local
        # Document prefixes vary per feed; only well-known namespaces are worth remembering.
        if namespace in _CORE_NAMESPACES or namespace in _KNOWN_PREFIXES:
            _custom_keys[tag] = key
    return key


def _custom(el: Any, scope: Scope) -> None:
    value = _text(el) or el.get("url") or el.get("href")
    if value:
        scope.setdefault("custom", {}).setdefault(_custom_key(el), value.strip())


def _setter(key: str) -> Handler:
    def handle(item: _Item, el: Any, scope: Scope) -> None:
        value = _text(el)
        if value and key not in scope:
            scope[key] = value

    return handle


def _appender(key: str) -> Handler:
    def handle(item: _Item, el: Any, scope: Scope) -> None:
        value = _text(el)
        if value:
            scope.setdefault(key, []).append(value)

    return handle


def _rich_text(key: str) -> Handler:
    """Atom text constructs: type="xhtml" content is serialised markup, the rest is text."""

    def handle(item: _Item, el: Any, scope: Scope) -> None:
        if key in scope:
            return
        if len(el) and el.get("type") == "xhtml":
            value = "".join(etree.tostring(child, encoding="unicode", with_tail=True) for child in el).strip()
        else:
            value = _text(el)
        if value:
            scope[key] = value

    return handle


def _thumbnail(item: _Item, el: Any, scope: Scope) -> None:
    url = (el.get("url") or "").strip()
    if url:
        image = Image(url=url, role="thumbnail", width=_int(el.get("width")), height=_int(el.get("height")))
        scope.setdefault("thumbnails", []).append(image)


def _credit(item: _Item, el: Any, scope: Scope) -> None:
    name = _text(el)
    if name:
        role = (el.get("role") or "").strip() or None
        scope.setdefault("credits", []).append(Credit(name=name, role=role))


def _rating(item: _Item, el: Any, scope: Scope) -> None:
    value = _text(el)
    if value:
        scheme = (el.get("scheme") or "").strip() or DEFAULT_RATING_SCHEME
        scope.setdefault("ratings", []).append(Rating(value=value, scheme=scheme))


def _restriction(item: _Item, el: Any, scope: Scope) -> None:
    if (el.get("type") or "country").strip().lower() == "country":
        relationship = (el.get("relationship") or "").strip().lower()
        scope.setdefault("restrictions", []).append((relationship, el.text or ""))


def _media_category(item: _Item, el: Any, scope: Scope) -> None:
    value = _text(el) or (el.get("label") or "").strip()
    if value:
        scope.setdefault("genres", []).append(value)


def _itunes_category(item: _Item, el: Any, scope: Scope) -> None:
    value = (el.get("text") or "").strip() or _text(el)
    if value:
        scope.setdefault("genres", []).append(value)
    for child in el:
        if child.tag == _ITUNES_CATEGORY:
            _itunes_category(item, child, scope)


def _keywords(item: _Item, el: Any, scope: Scope) -> None:
    text = el.text
    if text:
        scope.setdefault("keywords", []).extend(word.strip() for word in text.split(","))


def _category(item: _Item, el: Any, scope: Scope) -> None:
    if el.get("domain") or el.get("scheme"):
        return
    value = _text(el) or (el.get("term") or "").strip()
    if value:
        scope.setdefault("categories", []).append(value)


def _subtitle(item: _Item, el: Any, scope: Scope) -> None:
    url = (el.get("href") or el.get("url") or "").strip()
    if url:
        subtitle = Subtitle(url=url, language=(el.get("lang") or "").strip() or None, label=el.get("type") or None)
        scope.setdefault("subtitles", []).append(subtitle)


def _player(item: _Item, el: Any, scope: Scope) -> None:
    url = (el.get("url") or "").strip()
    if url:
        scope.setdefault("custom", {}).setdefault("player_url", url)


def _itunes_image(item: _Item, el: Any, scope: Scope) -> None:
    url = (el.get("href") or "").strip() or _text(el)
    if url and "itunes_image" not in scope:
        scope["itunes_image"] = url


def _atom_author(item: _Item, el: Any, scope: Scope) -> None:
    for child in el:
        if child.tag in _ATOM_NAMES:
            _appender("authors")(item, child, scope)


def _atom_link(item: _Item, el: Any, scope: Scope) -> None:
    href = (el.get("href") or "").strip()
    if not href:
        return
    rel = el.get("rel") or "alternate"
    if rel == "alternate" and "link" not in scope:
        scope["link"] = href
    elif rel == "enclosure":
        scope.setdefault("enclosures", []).append((href, el.get("type")))


def _enclosure(item: _Item, el: Any, scope: Scope) -> None:
    url = (el.get("url") or "").strip()
    if url:
        scope.setdefault("enclosures", []).append((url, el.get("type")))


def _content(item: _Item, el: Any, scope: Scope) -> None:
    item.media_content_seen = True
    content_scope: Scope = {}
    if len(el):
        _walk(item, el, content_scope, _CONTENT_HANDLERS, True)
    get = el.attrib.get
    duration = get("duration")
    if duration:
        content_scope["duration"] = duration
    url = (get("url") or "").strip()
    mime = (get("type") or "").strip() or None
    width, height = _int(get("width")), _int(get("height"))
    if get("medium") == "image" or (mime and mime.startswith("image/")):
        if url:
            item.images.append(Image(url=url, role="still", width=width, height=height))
        return
    is_sample = get("expression") == "sample"
    is_default = (get("isDefault") or "").strip().lower() == "true"
    if url:
        stream = Stream(
            url=url,
            type=stream_type(mime, url),
            mime=mime,
            bitrate=_int(get("bitrate")),
            width=width,
            height=height,
            default=is_default,
        )
        (item.trailer if is_sample else item.full).append(stream)
    scopes = item.trailer_scopes if is_sample else item.content_scopes
    if is_default:
        scopes.insert(0, content_scope)
    else:
        scopes.append(content_scope)


def _group(item: _Item, el: Any, scope: Scope) -> None:
    group_scope: Scope = {}
    _walk(item, el, group_scope, _GROUP_HANDLERS, True)
    item.group_scopes.append(group_scope)


def _media_tags(namespace: str) -> dict[str, Handler]:
    m = f"{{{namespace}}}"
    return {
        m + "title": _setter("media_title"),
        m + "description": _setter("media_description"),
        m + "thumbnail": _thumbnail,
        m + "credit": _credit,
        m + "rating": _rating,
        m + "restriction": _restriction,
        m + "category": _media_category,
        m + "keywords": _keywords,
        m + "subTitle": _subtitle,
        m + "player": _player,
    }


_MEDIA_HANDLERS = _media_tags(MEDIA_NS) | _media_tags(MEDIA_NS_NO_SLASH)
_CONTENT_HANDLERS = dict(_MEDIA_HANDLERS)
_GROUP_HANDLERS = _CONTENT_HANDLERS | {f"{{{ns}}}content": _content for ns in (MEDIA_NS, MEDIA_NS_NO_SLASH)}
_ITUNES = f"{{{ITUNES_NS}}}"
_ITUNES_CATEGORY = _ITUNES + "category"
_ATOM_NAMES = (f"{{{ATOM_NS}}}name", f"{{{ATOM03_NS}}}name", "name")


def _item_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = dict(_GROUP_HANDLERS)
    handlers.update({f"{{{ns}}}group": _group for ns in (MEDIA_NS, MEDIA_NS_NO_SLASH)})
    for core in ("", f"{{{RSS1_NS}}}"):
        handlers[core + "title"] = _setter("title")
        handlers[core + "description"] = _setter("description")
        handlers[core + "link"] = _setter("link")
        handlers[core + "guid"] = _setter("guid")
        handlers[core + "pubDate"] = _setter("published")
        handlers[core + "category"] = _category
        handlers[core + "enclosure"] = _enclosure
    for atom in (f"{{{ATOM_NS}}}", f"{{{ATOM03_NS}}}"):
        handlers[atom + "title"] = _rich_text("title")
        handlers[atom + "summary"] = _rich_text("summary")
        handlers[atom + "content"] = _rich_text("content")
        handlers[atom + "id"] = _setter("id")
        handlers[atom + "link"] = _atom_link
        handlers[atom + "published"] = _setter("published")
        handlers[atom + "issued"] = _setter("published")
        handlers[atom + "updated"] = _setter("updated")
        handlers[atom + "modified"] = _setter("updated")
        handlers[atom + "author"] = _atom_author
        handlers[atom + "category"] = _category
    handlers.update(
        {
            f"{{{CONTENT_NS}}}encoded": _setter("content"),
            f"{{{DC_NS}}}date": _setter("dc_date"),
            f"{{{DC_NS}}}creator": _appender("authors"),
            f"{{{DCTERMS_NS}}}valid": _setter("valid"),
            f"{{{DCTERMS_NS}}}date": _setter("dc_date"),
            _ITUNES + "title": _setter("itunes_title"),
            _ITUNES + "subtitle": _setter("short_description"),
            _ITUNES + "summary": _setter("itunes_summary"),
            _ITUNES + "duration": _setter("duration"),
            _ITUNES + "image": _itunes_image,
            _ITUNES + "author": _setter("itunes_author"),
            _ITUNES + "category": _itunes_category,
            _ITUNES + "explicit": _setter("explicit"),
            _ITUNES + "keywords": _keywords,
            _ITUNES + "episode": _setter("episode"),
            _ITUNES + "season": _setter("season"),
            _ITUNES + "episodeType": _setter("episode_type"),
        }
    )
    return handlers


def _channel_handlers() -> dict[str, Handler]:
    handlers = {
        tag: handler
        for tag, handler in _MEDIA_HANDLERS.items()
        if handler in (_thumbnail, _credit, _rating, _restriction, _media_category, _keywords, _subtitle)
    }
    handlers.update(
        {
            _ITUNES + "image": _itunes_image,
            _ITUNES + "author": _setter("itunes_author"),
            _ITUNES + "category": _itunes_category,
            _ITUNES + "explicit": _setter("explicit"),
            f"{{{DCTERMS_NS}}}valid": _setter("valid"),
            "image": _channel_image,
            f"{{{RSS1_NS}}}image": _channel_image,
            "title": _setter("channel_title"),
            f"{{{RSS1_NS}}}title": _setter("channel_title"),
            f"{{{ATOM_NS}}}title": _setter("channel_title"),
            f"{{{ATOM03_NS}}}title": _setter("channel_title"),
            f"{{{ATOM_NS}}}logo": _setter("channel_image"),
            f"{{{ATOM_NS}}}icon": _setter("channel_icon"),
        }
    )
    return handlers


def _channel_image(item: _Item, el: Any, scope: Scope) -> None:
    for child in el:
        if isinstance(child.tag, str) and child.tag.endswith("url") and _text(child):
            scope.setdefault("channel_image", _text(child))
    if el.get(f"{{{RDF_NS}}}resource"):
        scope.setdefault("channel_image", el.get(f"{{{RDF_NS}}}resource").strip())


_ITEM_HANDLERS = _item_handlers()
_CHANNEL_HANDLERS = _channel_handlers()


def _channel_scope(first_item: Any) -> Scope:
    """Defaults from the channel (or Atom feed) elements that precede the first item."""
    scope: Scope = {}
    parent = first_item.getparent()
    if parent is None:
        return scope
    unused = _Item()
    for child in parent:
        if child is first_item:
            break
        handler = _CHANNEL_HANDLERS.get(child.tag)
        if handler is not None:
            handler(unused, child, scope)
    return scope


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


def _sha1_id(text: str) -> str:
    return "sha1:" + hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _fallback_id(title: str | None, url: str | None, published: str | None) -> str | None:
    parts = [title or "", url or "", (published or "").strip()]
    return _sha1_id("\x1f".join(parts)) if any(parts) else None


NO_ID_REASON = "the item has no guid, id or link, and no title, media URL or date to derive a stable id from"


def _explicit_rating(value: str | None) -> Rating | None:
    word = (value or "").strip().lower()
    if word in ("yes", "true", "explicit"):
        return Rating(value="explicit", scheme=EXPLICIT_SCHEME)
    if word in ("no", "false", "clean"):
        return Rating(value="clean", scheme=EXPLICIT_SCHEME)
    return None


def _asset_type(default_type: str, episode_type: str | None, has_episode: bool) -> str:
    if episode_type and episode_type.strip().lower() == "trailer":
        return "trailer"
    return "episode" if episode_type or has_episode else default_type


def _map_item(el: Any, channel: Scope, default_type: str, origin_digest: str | None = None) -> Asset:
    """One item/entry element -> Asset (raises _ItemError when the item cannot be used)."""
    item = _Item()
    scope: Scope = {}
    _walk(item, el, scope, _ITEM_HANDLERS, True)
    chain = [*item.content_scopes, *item.group_scopes, scope, channel]
    editions = _editions(item, scope, chain)
    first_url = editions[0].streams[0].url if editions and editions[0].streams else None
    title = scope.get("title") or _pick(chain, "media_title") or scope.get("itunes_title")
    description = (
        _pick(chain, "media_description")
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
        raise _ItemError(NO_ID_REASON)
    episode_type = scope.get("episode_type")
    episode = _int(scope.get("episode"))
    asset_type = _asset_type(default_type, episode_type, "episode" in scope)
    asset = Asset(
        external_id=external_id,
        type=asset_type,
        title=title,
        description=description,
        short_description=scope.get("short_description"),
        duration=_first_parsed(chain, "duration", parse_duration),
        published_at=parse_date(scope.get("published"))
        or parse_date(scope.get("updated"))
        or parse_date(scope.get("dc_date")),
        availability=_first_parsed(chain, "valid", parse_availability),
        images=_images(item, chain, scope, channel),
        tags=_dedupe([*(_pick(chain, "keywords") or ()), *scope.get("categories", ())]),
        genres=_dedupe(list(_pick(chain, "genres") or ())),
        credits=_credits(chain),
        ratings=_ratings(chain),
        geoblock=_geoblock(_pick(chain, "restrictions") or []),
        editions=editions,
        custom=_custom_values(chain, scope),
        origin_digest=origin_digest,
    )
    if asset_type in ("episode", "trailer") and (episode_type or "episode" in scope):
        asset.series = channel.get("channel_title")
        asset.season = _int(scope.get("season"))
        asset.episode = episode
    return asset


def _editions(item: _Item, scope: Scope, chain: list[Scope]) -> list[Edition]:
    full = item.full
    if not item.media_content_seen:
        full = [
            Stream(url=url, type=stream_type(mime, url), mime=(mime or "").strip() or None)
            for url, mime in scope.get("enclosures", ())
        ]
    editions = []
    subtitles = _pick(chain, "subtitles")
    if full or subtitles:
        editions.append(Edition(name="full", streams=full, subtitles=list(subtitles or ())))
    trailer_subtitles = _pick(item.trailer_scopes, "subtitles")
    if item.trailer or trailer_subtitles:
        editions.append(Edition(name="trailer", streams=item.trailer, subtitles=list(trailer_subtitles or ())))
    return editions


def _images(item: _Item, chain: list[Scope], scope: Scope, channel: Scope) -> list[Image]:
    images = [*(_pick(chain, "thumbnails") or ()), *item.images]
    if images:
        seen: set[str] = set()
        return [image for image in images if not (image.url in seen or seen.add(image.url))]
    poster = scope.get("itunes_image") or channel.get("itunes_image") or channel.get("channel_image")
    return [Image(url=poster, role="poster")] if poster else []


def _credits(chain: list[Scope]) -> list[Credit]:
    credits = _pick(chain, "credits")
    if credits:
        return list(credits)
    item, channel = chain[-2], chain[-1]
    authors = item.get("authors") or ()
    author = item.get("itunes_author") or (authors[0] if authors else None) or channel.get("itunes_author")
    return [Credit(name=author, role="author")] if author else []


def _ratings(chain: list[Scope]) -> list[Rating]:
    ratings = list(_pick(chain, "ratings") or ())
    explicit = _explicit_rating(_pick(chain[-2:], "explicit"))
    if explicit is not None:
        ratings.append(explicit)
    return ratings


def _custom_values(chain: list[Scope], scope: Scope) -> dict[str, str]:
    custom: dict[str, str] = {}
    link = scope.get("link")
    if link:
        custom["link"] = link
    for level in chain[:-1]:
        for key, value in level.get("custom", {}).items():
            custom.setdefault(key, value)
    return custom


def _raw_item(el: Any) -> str:
    return etree.tostring(el, encoding="unicode")[:MAX_RAW_ITEM_CHARS]


# What an asset is made of besides its item: this module's mapping, the stream types, the model, the standard
# custom keys and the value boundary that `importing._stage` applies after the mapping. A change to what `_stage`
# does to a mapped asset must bump this version (nothing else can tell).
MAPPING_VERSION = 1


@functools.cache
def _mapping_code() -> bytes:
    """A digest of the code an asset depends on besides its item: a new release maps every item again, once."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"mapping {MAPPING_VERSION}".encode())
    for module in (sys.modules[__name__], streams, model, standard_keys, limits):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.digest()


def _item_digester(channel: Scope, default_type: str) -> Callable[[Any], str]:
    """The origin digest of an item element: its serialised form, with all else its mapping reads.

    That is the channel-level defaults (the scope built from the elements before the first item, not the
    document's dates or build time), the source's asset type and the mapping code.
    """
    base = hashlib.blake2b(digest_size=16)
    base.update(_mapping_code())
    base.update(f"{default_type}\x1f{channel!r}\x1f".encode())

    def digest(el: Any) -> str:
        item = base.copy()
        item.update(etree.tostring(el, with_tail=False))
        return item.hexdigest()

    return digest


# --- feedparser entries ------------------------------------------------------------------------------------------


def _fp_streams(entry: Any) -> tuple[list[Stream], list[Stream], list[Image]]:
    full: list[Stream] = []
    trailer: list[Stream] = []
    images: list[Image] = []
    for content in entry.get("media_content") or ():
        url = (content.get("url") or "").strip()
        if not url:
            continue
        mime = (content.get("type") or "").strip() or None
        width, height = _int(content.get("width")), _int(content.get("height"))
        if content.get("medium") == "image" or (mime and mime.startswith("image/")):
            images.append(Image(url=url, role="still", width=width, height=height))
            continue
        stream = Stream(
            url=url,
            type=stream_type(mime, url),
            mime=mime,
            bitrate=_int(content.get("bitrate")),
            width=width,
            height=height,
            default=str(content.get("isdefault", "")).lower() == "true",
        )
        (trailer if content.get("expression") == "sample" else full).append(stream)
    if not entry.get("media_content"):
        for link in entry.get("links") or ():
            if link.get("rel") == "enclosure" and link.get("href"):
                mime = link.get("type") or None
                full.append(Stream(url=link["href"].strip(), type=stream_type(mime, link["href"]), mime=mime))
    return full, trailer, images


def _fp_custom(entry: Any) -> dict[str, str]:
    custom: dict[str, str] = {}
    if entry.get("link"):
        custom["link"] = entry["link"]
    player = entry.get("media_player") or {}
    if player.get("url"):
        custom["player_url"] = player["url"]
    if entry.get("yt_videoid"):
        custom["yt:videoId"] = entry["yt_videoid"]
    license_ = entry.get("media_license") or {}
    if license_.get("content") or license_.get("href"):
        custom["media:license"] = license_.get("content") or license_.get("href")
    return custom


def _fp_asset(entry: Any, feed: Any, default_type: str) -> Asset:
    """A feedparser entry -> Asset: as close to the lxml mapping as feedparser's flattened view allows."""
    full, trailer, content_images = _fp_streams(entry)
    title = (entry.get("title") or "").strip() or None
    description = (entry.get("summary") or "").strip() or None
    if not description and entry.get("content"):
        description = (entry["content"][0].get("value") or "").strip() or None
    published_raw = entry.get("published") or entry.get("updated")
    external_id = (
        (entry.get("id") or "").strip()
        or (entry.get("link") or "").strip()
        or _fallback_id(title, full[0].url if full else None, published_raw)
    )
    if not external_id:
        raise _ItemError(NO_ID_REASON)
    tags = [word.strip() for word in (entry.get("media_keywords") or "").split(",")]
    genres = []
    for tag in entry.get("tags") or ():
        (genres if tag.get("scheme") else tags).append((tag.get("term") or tag.get("label") or "").strip())
    images = [
        Image(url=thumb["url"], role="thumbnail", width=_int(thumb.get("width")), height=_int(thumb.get("height")))
        for thumb in entry.get("media_thumbnail") or ()
        if thumb.get("url")
    ] + content_images
    poster = (entry.get("image") or {}).get("href") or (feed.get("image") or {}).get("href")
    if not images and poster:
        images = [Image(url=poster, role="poster")]
    credits = [
        Credit(name=credit["content"].strip(), role=credit.get("role") or None)
        for credit in entry.get("media_credit") or ()
        if (credit.get("content") or "").strip()
    ]
    if not credits and entry.get("author"):
        credits = [Credit(name=entry["author"].strip(), role="author")]
    rating = entry.get("media_rating") or {}
    rating_value = (rating.get("content") or "").strip()
    ratings = [Rating(value=rating_value, scheme=rating.get("scheme") or DEFAULT_RATING_SCHEME)] if rating_value else []
    explicit_flag = entry.get("itunes_explicit")
    explicit = None if explicit_flag is None else _explicit_rating("yes" if explicit_flag else "no")
    if explicit is not None:
        ratings.append(explicit)
    restriction = entry.get("media_restriction") or {}
    restrictions = []
    if restriction and (restriction.get("type") or "country").lower() == "country":
        content = restriction.get("content") or []
        text = " ".join(content) if isinstance(content, list) else str(content)
        restrictions.append(((restriction.get("relationship") or "").lower(), text))
    validity = f"start={entry.get('validity_start') or ''};end={entry.get('validity_end') or ''}"
    episode_type = entry.get("itunes_episodetype")
    asset_type = _asset_type(default_type, episode_type, "itunes_episode" in entry)
    editions = [Edition(name="full", streams=full)] if full else []
    if trailer:
        editions.append(Edition(name="trailer", streams=trailer))
    asset = Asset(
        external_id=external_id,
        type=asset_type,
        title=title,
        description=description,
        short_description=(entry.get("subtitle") or "").strip() or None,
        duration=parse_duration((entry.get("media_content") or [{}])[0].get("duration"))
        or parse_duration(entry.get("itunes_duration")),
        published_at=parse_date(entry.get("published")) or parse_date(entry.get("updated")),
        availability=parse_availability(validity),
        images=images,
        tags=_dedupe(tags),
        genres=_dedupe(genres),
        credits=credits,
        ratings=ratings,
        geoblock=_geoblock(restrictions),
        editions=editions,
        custom=_fp_custom(entry),
    )
    if asset_type in ("episode", "trailer"):
        asset.series = (feed.get("title") or "").strip() or None
        asset.season = _int(entry.get("itunes_season"))
        asset.episode = _int(entry.get("itunes_episode"))
    return asset


_BARE_AMPERSAND = re.compile(rb"&(?!#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z_][\w.-]*;)")
_ENTITY_ANYWHERE = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)


# --- the document --------------------------------------------------------------------------------------------------


class FeedParse:
    """Iterable over the items of one document: yields model.Asset or model.ItemFailure, streaming.

    `parser`, `notes` and `complete` describe the last iteration and are valid after it. Iterating again reads
    the file again. Iteration raises UnreadableDocument when the document turns out not to be a feed at all.
    Items read by lxml carry their origin digest; after `skip_known`, an item whose digest is known is yielded as
    a `KnownItem` without being mapped (items read by feedparser are always mapped).
    """

    def __init__(self, path: str | os.PathLike[str], *, default_type: str, content_type: str | None, root: str | None):
        self.path = path
        self.default_type = default_type
        self.content_type = content_type
        self.root = root
        self.parser = "lxml"
        self.notes: list[str] = []
        self.complete = True
        self._seen: dict[str, bool] = {}
        self._yielded = 0
        self._known: Mapping[str, KnownAsset] = {}

    def skip_known(self, known: Mapping[str, KnownAsset]) -> None:
        """Items whose origin digest is a key of `known` (values: the assets they made) are not mapped again."""
        self._known = known

    def __iter__(self) -> Iterator[Asset | ItemFailure | KnownItem]:
        self.parser, self.notes, self.complete, self._seen, self._yielded = "lxml", [], True, {}, 0
        error = yield from self._read_with_lxml()
        if error is not None:
            yield from self._read_with_feedparser(error)

    def _checked(self, produce: Callable[[], Asset], raw: Callable[[], Any]) -> Iterator[Asset | ItemFailure]:
        """Map one item, catching its failure, and apply the first-occurrence-wins rule for ids."""
        self._yielded += 1
        try:
            asset = produce()
        except _ItemError as exc:
            yield ItemFailure(reason=str(exc), data=raw())
            return
        except Exception as exc:  # one bad item must never stop the others (DESIGN.md §1)
            yield ItemFailure(reason=f"the item could not be read: {exc}", data=raw(), errors=[repr(exc)])
            return
        reported = self._seen.get(asset.external_id)
        if reported is None:
            self._seen[asset.external_id] = False
            yield asset
        elif not reported:
            self._seen[asset.external_id] = True
            yield ItemFailure(
                reason=f"duplicate id {asset.external_id!r} in this document: only its first occurrence counts",
                external_id=asset.external_id,
                data=raw(),
            )

    def _read_with_lxml(self) -> Iterator[Asset | ItemFailure | KnownItem]:
        """Stream items; return the syntax error when the document is not well-formed (None when it is)."""
        with Path(self.path).open("rb") as file:
            context = etree.iterparse(
                file,
                events=("end",),
                tag=ITEM_TAGS,
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
                huge_tree=False,
                remove_comments=True,
                remove_pis=True,
                encoding=_lxml_encoding(self.path, self.content_type),
            )
            events = iter(context)
            channel: Scope | None = None
            digest_of: Callable[[Any], str] = str
            known = self._known
            while True:
                try:
                    _, el = next(events)
                except StopIteration:
                    break
                except etree.XMLSyntaxError as exc:
                    return exc
                if channel is None:
                    channel = _channel_scope(el)
                    digest_of = _item_digester(channel, self.default_type)
                digest = digest_of(el)
                found = known.get(digest)
                if found is not None and found.external_id not in self._seen:
                    self._seen[found.external_id] = False
                    self._yielded += 1
                    yield KnownItem(found.external_id, digest)
                else:
                    yield from self._checked(
                        lambda el=el, channel=channel, digest=digest: _map_item(el, channel, self.default_type, digest),
                        lambda el=el: _raw_item(el),
                    )
                el.clear(keep_tail=False)
                parent = el.getparent()
                if parent is not None:
                    while el.getprevious() is not None:
                        del parent[0]
            root_tag = context.root.tag if context.root is not None else None
        if channel is None and root_tag not in FEED_ROOTS:
            name = root_tag.rpartition("}")[2] if isinstance(root_tag, str) else self.root
            raise UnreadableDocument(_describe_unreadable(self._head(), name))
        return None

    def _head(self) -> bytes:
        with Path(self.path).open("rb") as file:
            return file.read(4096)

    def _read_with_feedparser(self, error: etree.XMLSyntaxError) -> Iterator[Asset | ItemFailure]:
        with Path(self.path).open("rb") as file:
            data = file.read()
        where = f"line {error.lineno}: {error.msg}" if error.lineno else str(error.msg)
        self.complete = False
        lxml_found_items = self._yielded > 0
        if any(_ENTITY_ANYWHERE.search(view) for view in _prolog_views(data, self.content_type)):
            # feedparser's lenient mode would expand them; what lxml read before is not imported either.
            raise UnsafeDocument(_ENTITIES_DECLARED + f" (the document is also not well-formed XML: {where})")
        if b"\x00" not in data[:4]:
            # A raw "&" is the commonest reason a feed is not well-formed; feedparser would turn "R&D" into "R&D;".
            data = _BARE_AMPERSAND.sub(b"&amp;", data)
        headers = {"content-type": self.content_type} if self.content_type else None
        # A file object, not bytes: feedparser opens bytes that look like a file name as a file.
        try:
            result = feedparser.parse(
                io.BytesIO(data), response_headers=headers, resolve_relative_uris=False, sanitize_html=False
            )
        except Exception as exc:  # feedparser has its own bugs (e.g. ValueError on "&#x110000;")
            raise UnreadableDocument(
                f"the document is not well-formed XML ({where}) and the lenient parser could not read it either "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        if not result.entries and not result.get("version") and not lxml_found_items:
            raise UnreadableDocument(_describe_unreadable(data, self.root))
        self.parser = "lxml+feedparser" if lxml_found_items else "feedparser"
        self.notes.append(NOTE_NOT_WELL_FORMED.format(where=where))
        already = set(self._seen)
        for entry in result.entries:
            if self._fp_id(entry) in already:
                continue
            yield from self._checked(
                lambda entry=entry: _fp_asset(entry, result.feed, self.default_type),
                lambda entry=entry: _fp_raw(entry),
            )

    @staticmethod
    def _fp_id(entry: Any) -> str | None:
        return (entry.get("id") or "").strip() or (entry.get("link") or "").strip() or None


def _fp_raw(entry: Any) -> dict[str, Any]:
    raw = {key: value for key, value in entry.items() if isinstance(value, str)}
    return {key: value[:MAX_RAW_ITEM_CHARS] for key, value in raw.items()}


def parse_feed(
    path: str | os.PathLike[str], *, default_type: str = "movie", content_type: str | None = None
) -> FeedParse:
    """Check the document at `path` (the raw, decompressed response body) and return its items, to iterate.

    Raises UnsafeDocument when the document declares entities (checked on the bytes before the root element,
    before any parser runs) and UnreadableDocument when it is empty or has no element at all; iterating raises
    UnreadableDocument when the document turns out to be something other than a feed (an HTML page, say).
    `content_type` is the HTTP Content-Type; its charset is used when the document declares no encoding.
    """
    root = _check_prolog(path, content_type)
    if root is None:
        with Path(path).open("rb") as file:
            raise UnreadableDocument(_describe_unreadable(file.read(4096), None))
    if root.lower() == "html":
        raise UnreadableDocument(_describe_unreadable(b"", "html"))
    return FeedParse(path, default_type=default_type, content_type=content_type, root=root)


class MediaRssConnector:
    """The `mrss` source kind for `connectors.connector_for`: one feed document, parsed by `parse_feed`."""

    kind = "mrss"

    def fetch(self, source: Source, http: HttpClient, workdir: Path) -> Fetched:
        """Download the feed with a conditional GET (through `net`, the one HTTP client)."""
        return download_document(source, http, workdir)

    def parse(self, source: Source, fetched: Fetched) -> FeedParse:
        """The items of the fetched document, typed `source.asset_type` unless an item says otherwise."""
        if fetched.path is None:
            raise UnreadableDocument("nothing was fetched from the feed URL")
        return parse_feed(fetched.path, default_type=source.asset_type, content_type=fetched.content_type)
