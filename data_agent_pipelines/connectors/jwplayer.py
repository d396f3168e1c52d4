"""JW Player: the Management API v2 media list of a property, or a public Delivery API playlist.

Management API (default): `--url` the API base (default `https://api.jwplayer.com/v2/`), `--option site_id=…`,
`--credential api_secret=…` (a v2 API secret, sent as `Authorization: Bearer`). `GET sites/{site_id}/media/`
pages with `page` / `page_length` until `total` is reached, sorted `created:asc`. JW serves at most 10,000 results
per query, so a longer listing is narrowed with `q=created:[<last created> TO *]` and read on. Renditions
(`media/{id}/media_renditions/`, a few at a time, `--option renditions=false` to skip) give the mp4 streams; the
HLS manifest of the Delivery API is the default stream. Text tracks (`media/{id}/text_tracks/`, `--option
text_tracks=false` to skip) give the captions. Incremental fetches add `last_modified:[<since> TO *]`. The API
allows 60 calls a minute and says so in `jw-request-remaining`: at 0 the next call waits a minute.

A media with `hosting_type` `external` is not on JW's CDN: its stream is its own `source_url` (typed by
`mime_type`), with no JW manifest or renditions. A media that is not ready (`created`, `processing`) or `failed` is
imported unpublished with the reason. `metadata.author` is a credit (role `author`).

Delivery API (`--option api=delivery`, `--url` the playlist URL, no credential): `playlist[]` with `sources[]`,
`images[]`, comma-separated `tags`, caption `tracks[]` (whose `label` is the only hint of their language:
`languages.language_of_label`); every top-level key JW does not define is a custom parameter and lands in
`custom`. Pages are followed through `links.next`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from ..model import Asset, Availability, Credit, Edition, Image, Source, Stream, Subtitle, parse_instant
from ..net import HttpClient, HTTPStatusError
from .base import Fetched, Parse
from .languages import language_of_label
from .ovp.auth import BearerSecret, NoAuth
from .ovp.client import ApiClient, map_bounded
from .ovp.links import link_expiry
from .ovp.paging import Page, PageRequest, Paging, collect
from .ovp.platform import bool_option, credential, int_option, option
from .ovp.rate_limit import RateLimitHeaders
from .ovp.store import PageStore, StoredItems, fetched_from
from .ovp.sweep import Sweep
from .spec import CONCURRENCY, FULL_SWEEP_EVERY, INCREMENTAL, TIMEOUT, Setting, SourceKind
from .streams import mark_default, stream_type

DEFAULT_CDN_URL = "https://cdn.jwplayer.com"
PAGE_LENGTH = 500
QUERY_CAP = 10_000
RATE_LIMIT = RateLimitHeaders(remaining="jw-request-remaining", window_seconds=60.0)
# Keys of a Delivery API playlist item that JW defines; every other top-level key is a custom parameter.
DELIVERY_KEYS = frozenset(
    {"title", "mediaid", "link", "image", "images", "feedid", "duration", "pubdate", "description", "tags"}
    | {"sources", "tracks", "variations", "playlist"}
)


def _media_id(item: dict[str, Any]) -> Any:
    return item.get("id") or item.get("mediaid")


class JWPlayerConnector:
    """`kind jwplayer`."""

    kind = "jwplayer"

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, now: Callable[[], datetime] | None = None):
        self._sleep = sleep
        self._now = now or (lambda: datetime.now(UTC))

    def fetch(self, source: Source, http: HttpClient, workdir: Path) -> Fetched:
        """Read every media item (or every changed one) into a page store in `workdir`."""
        if source.options.get("api") == "delivery":
            return self._fetch_delivery(source, http, workdir)
        return self._fetch_management(source, http, workdir)

    def parse(self, source: Source, fetched: Fetched) -> Parse:
        """Map the stored media items to assets."""
        assert fetched.path is not None
        if source.options.get("api") == "delivery":
            return StoredItems(fetched.path, "jwplayer-delivery", lambda i: delivery_asset(i, source), _media_id)
        cdn = source.options.get("cdn_url", DEFAULT_CDN_URL).rstrip("/")
        return StoredItems(fetched.path, "jwplayer-management", lambda i: management_asset(i, source, cdn), _media_id)

    def _fetch_management(self, source: Source, http: HttpClient, workdir: Path) -> Fetched:
        site_id = option(source, "site_id", SPEC)
        api = ApiClient(
            http,
            source,
            SPEC,
            BearerSecret(credential(source, "api_secret", SPEC)),
            rate_limit=RATE_LIMIT,
            headers={"Accept": "application/json"},
            sleep=self._sleep,
        )
        base = urljoin(source.url.rstrip("/") + "/", f"sites/{site_id}/")
        sweep = Sweep.plan(source, now=self._now())
        renditions = bool_option(source, "renditions")
        text_tracks = bool_option(source, "text_tracks")
        concurrency = int_option(source, "concurrency", 4, 1, 8)

        def fetch_page(request: PageRequest) -> Page:
            query = []
            if request.window_start:
                query.append(f"created:[{request.window_start} TO *]")
            if sweep.since is not None:
                query.append(f"last_modified:[{sweep.since.strftime('%Y-%m-%dT%H:%M:%S')} TO *]")
            params = {"page": request.number, "page_length": request.size, "sort": "created:asc"}
            if query:
                params["q"] = " AND ".join(query)
            body = api.get(base + "media/", params)
            return Page(items=list(body.get("media") or []), total=body.get("total"))

        def with_details(items: list[dict[str, Any]]) -> None:
            if renditions:
                hosted = [item for item in items if item.get("hosting_type") != "external"]  # JW made no renditions
                found = map_bounded(
                    lambda item: api.get(base + f"media/{item['id']}/media_renditions/", {"page_length": 100}),
                    hosted,
                    concurrency,
                )
                for item, answer in zip(hosted, found, strict=True):
                    item["media_renditions"] = answer.get("media_renditions") or []
            if text_tracks:
                found = map_bounded(lambda item: _text_tracks(api, base, item), items, concurrency)
                for item, answer in zip(items, found, strict=True):
                    item["text_tracks"] = answer
            store.add(items)

        store = PageStore(workdir / "media.jsonl")
        paging = Paging(size=PAGE_LENGTH, cap=QUERY_CAP, window_key=lambda item: item.get("created"))
        collected = collect(fetch_page, paging, with_details, what="media")
        return fetched_from(store, collected, sweep, base + "media/")

    def _fetch_delivery(self, source: Source, http: HttpClient, workdir: Path) -> Fetched:
        api = ApiClient(http, source, DELIVERY, NoAuth(), sleep=self._sleep)

        def fetch_page(request: PageRequest) -> Page:
            body = api.get(request.next_url or source.url)
            following = (body.get("links") or {}).get("next")
            return Page(
                items=list(body.get("playlist") or []),
                next_url=urljoin(source.url, following) if following else None,
            )

        store = PageStore(workdir / "playlist.jsonl")
        paging = Paging(size=500, follow_next=True, item_id=_media_id)
        collected = collect(fetch_page, paging, store.add, what="playlist items")
        return fetched_from(store, collected, None, source.url)


def _text_tracks(api: ApiClient, base: str, item: dict[str, Any]) -> Any:
    """The answer of `media/{id}/text_tracks/`, or what went wrong for a media gone since it was listed."""
    url = base + f"media/{item['id']}/text_tracks/"
    try:
        return api.get(url, {"page_length": 100})
    except HTTPStatusError as exc:
        if exc.status_code != 404:
            raise
        return {"error": f"JW Player answered 404 for {url}: the media's text tracks were not read"}


_MODE = Setting(
    "api", "management: the media list of a property; delivery: one public playlist", choices=("management", "delivery")
)
DELIVERY = SourceKind(
    kind="jwplayer",
    title="JW Player's Delivery API",
    access_hint="--url: the playlist must be public, or its URL signed when URL signing is on",
    summary="a public Delivery API playlist",
    connector=JWPlayerConnector,
    options=(_MODE, TIMEOUT),
)
SPEC = SourceKind(
    kind="jwplayer",
    title="JW Player",
    access_hint="--credential api_secret (a Management API v2 secret of the property --option site_id)",
    summary="the Management API v2 media list of a JW Player property",
    connector=JWPlayerConnector,
    default_url="https://api.jwplayer.com/v2/",
    options=(
        _MODE,
        Setting("site_id", "the property ID", required=True),
        Setting("renditions", "false skips reading each media's mp4 renditions"),
        Setting("text_tracks", "false skips reading each media's captions (a call per media)"),
        Setting("cdn_url", f"where the HLS manifests are served (default {DEFAULT_CDN_URL})"),
        CONCURRENCY,
        INCREMENTAL,
        FULL_SWEEP_EVERY,
        TIMEOUT,
    ),
    credentials=(Setting("api_secret", "a Management API v2 secret of the property", required=True),),
    mode_option="api",
    modes={"delivery": DELIVERY},
)


# --- mapping ------------------------------------------------------------------------------------------------------


def _seconds(value: Any) -> int | None:
    return round(float(value)) if value not in (None, "") and float(value) > 0 else None


def _epoch(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value not in (None, "") else None


def _stream(url: str, mime: str | None, bitrate_bps: Any, width: Any, height: Any) -> Stream:
    return Stream(
        url=url,
        type=stream_type(mime, url),
        mime=mime,
        bitrate=int(bitrate_bps) // 1000 if bitrate_bps else None,
        width=int(width) if width else None,
        height=int(height) if height else None,
        # JW signs links of a property with URL signing on (`exp`/`sig`, or a JWT `token`): they expire.
        expires=link_expiry(url, None),
    )


def _first(track: dict[str, Any], metadata: dict[str, Any], *keys: str) -> Any:
    """The first of `keys` set on the track itself or in its `metadata` (JW's pages show neither placement)."""
    for key in keys:
        for values in (track, metadata):
            if values.get(key) is not None:
                return values[key]
    return None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _management_subtitles(item: dict[str, Any], notes: list[str]) -> list[Subtitle]:
    """Ready captions and subtitles of `media/{id}/text_tracks/` (chapters and thumbnails are no subtitles)."""
    answer = item.get("text_tracks")
    if answer is None:
        return []
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        notes.append(answer["error"])
        return []
    tracks = answer.get("text_tracks") if isinstance(answer, dict) else None
    if not isinstance(tracks, list):
        notes.append("JW Player's text_tracks answer holds no list of text tracks: the captions were not read")
        return []
    subtitles = []
    for n, track in enumerate(tracks):
        if not isinstance(track, dict):
            continue
        metadata = track["metadata"] if isinstance(track.get("metadata"), dict) else {}
        if _first(track, metadata, "track_kind", "kind") not in ("captions", "subtitles"):
            continue
        status = track.get("status")
        url = _text(_first(track, metadata, "delivery_url", "file"))
        if status not in (None, "ready") or url is None:
            problem = f"is {str(status)[:40]} on JW Player" if status not in (None, "ready") else "has no delivery_url"
            notes.append(f"text track {n} ({str(track.get('id') or 'no id')[:40]}) {problem}: not read")
            continue
        label = _text(_first(track, metadata, "label"))
        language = _text(_first(track, metadata, "srclang", "language")) or language_of_label(label)
        subtitles.append(Subtitle(url=url, language=language, label=label, expires=link_expiry(url, None)))
    return subtitles


def _withheld(item: dict[str, Any]) -> str | None:
    """Why JW Player does not play the media yet: not processed (`created`, `processing`) or `failed`."""
    status = item.get("status", "ready")
    if status in ("created", "processing"):
        return f"the media is not ready on JW Player yet (status {status})"
    if status == "failed":
        message = item.get("error_message")
        return "JW Player could not process the media (status failed" + (f": {str(message)[:200]})" if message else ")")
    return None


def management_asset(item: dict[str, Any], source: Source, cdn: str) -> Asset:
    """One media item of the Management API v2 as an asset."""
    media_id = str(item["id"])
    metadata = item.get("metadata") or {}
    notes: list[str] = []
    streams = []
    if item.get("hosting_type") == "external":
        # Not on JW's CDN: no manifest exists for it; the file is where the media says it is.
        url, mime = _text(item.get("source_url")), _text(item.get("mime_type"))
        if url is not None:
            streams.append(_stream(url, mime, None, None, None))
        else:
            notes.append("the media is hosted outside JW Player (hosting_type external) and gives no source_url")
    elif item.get("status", "ready") == "ready":  # media still processing (or failed) has no manifest to play yet
        streams.append(_stream(f"{cdn}/manifests/{media_id}.m3u8", "application/vnd.apple.mpegurl", None, None, None))
    for rendition in item.get("media_renditions") or []:
        url = rendition.get("delivery_url")
        if url:
            mime = "audio/mp4" if rendition.get("media_type") == "audio" else "video/mp4"
            bitrate = rendition.get("bit_rate") or rendition.get("bitrate")
            streams.append(_stream(url, mime, bitrate, rendition.get("width"), rendition.get("height")))
    start = parse_instant(metadata.get("publish_start_date"))
    end = parse_instant(metadata.get("publish_end_date"))
    custom = {str(k): str(v) for k, v in (metadata.get("custom_params") or {}).items() if v is not None}
    for key in ("permalink", "category", "language", "external_id"):
        if metadata.get(key):
            custom.setdefault(key, str(metadata[key]))
    credits = []
    author = _text(metadata.get("author"))
    if author is not None:
        if "crew" in custom:  # the standard key fills the credits: the author stays beside it, in custom
            custom.setdefault("author", author)
        else:
            credits.append(Credit(name=author, role="author"))
    return Asset(
        external_id=media_id,
        type=source.asset_type,
        title=metadata.get("title") or None,
        description=metadata.get("description") or None,
        duration=_seconds(item.get("duration")),
        published_at=start,
        availability=Availability(start=start, end=end) if start or end else None,
        images=[Image(url=f"{cdn}/v2/media/{media_id}/poster.jpg?width=720", role="thumbnail", width=720)],
        tags=[str(t).strip() for t in metadata.get("tags") or [] if str(t).strip()],
        credits=credits,
        editions=[Edition(name="full", streams=mark_default(streams), subtitles=_management_subtitles(item, notes))],
        custom=custom,
        notes=notes,
        unpublished=_withheld(item),
    )


def delivery_asset(item: dict[str, Any], source: Source) -> Asset:
    """One playlist item of the Delivery API as an asset."""
    streams = [
        _stream(s["file"], s.get("type"), s.get("bitrate"), s.get("width"), s.get("height"))
        for s in item.get("sources") or []
        if s.get("file")
    ]
    subtitles = [
        # A Delivery track has a label only: the language is read from it where it names one.
        Subtitle(
            url=t["file"],
            language=_text(t.get("language")) or _text(t.get("srclang")) or language_of_label(t.get("label")),
            label=t.get("label"),
            expires=link_expiry(t["file"], None),
        )
        for t in item.get("tracks") or []
        if isinstance(t, dict) and t.get("file") and t.get("kind") in ("captions", "subtitles")
    ]
    images = [
        Image(url=i["src"], role="thumbnail", width=int(i["width"]) if i.get("width") else None)
        for i in item.get("images") or []
        if i.get("src")
    ]
    if not images and item.get("image"):
        images = [Image(url=item["image"], role="thumbnail")]
    custom = {
        str(k): str(v)
        for k, v in item.items()
        if k not in DELIVERY_KEYS and v is not None and not isinstance(v, dict | list)
    }
    if item.get("link"):
        custom["link"] = str(item["link"])
    return Asset(
        external_id=str(item["mediaid"]),
        type=source.asset_type,
        title=item.get("title") or None,
        description=item.get("description") or None,
        duration=_seconds(item.get("duration")),
        published_at=_epoch(item.get("pubdate")),
        images=images,
        tags=[t.strip() for t in (item.get("tags") or "").split(",") if t.strip()],
        editions=[Edition(name="full", streams=mark_default(streams), subtitles=subtitles)],
        custom=custom,
    )
