"""Mux Video: the assets of a Mux environment through the Mux Video API (`GET /video/v1/assets`).

`--credential token_id=…` and `--credential token_secret=…` (an access token with Mux Video read permission, sent
as HTTP Basic: the id as user name, the secret as password), `--url` the API base (default `https://api.mux.com/`).
Access tokens belong to one environment: the source reads the assets of the token's environment.

The list comes newest first, `limit=100` a page (the most Mux allows). Mux pages by cursor (`next_cursor` in the
answer, sent back as `cursor`); an answer without the key (the API before cursors) is paged by `page` numbers
until a page comes back short. Everything mapped is in the list answer: there are no per-asset calls. Mux has no
updated-since filter and sorts by creation only, so every fetch is a full sweep (an unchanged library ends as
`unchanged`). Quota headers: `X-RateLimit-Limit` / `X-RateLimit-Remaining`; Mux's limits are per second, so a spent
quota waits a second, and a 429 its `Retry-After`.

Playback: the first `public` playback id gives the HLS stream `https://stream.mux.com/{id}.m3u8`, its static
renditions (`https://stream.mux.com/{id}/{name}`, mp4 or m4a), its captions
(`https://stream.mux.com/{id}/text/{track}.vtt`) and its thumbnail (`https://image.mux.com/{id}/thumbnail.jpg`).
These addresses do not expire. A `signed` (or `drm`) playback id plays only with a JWT signed by the customer's
Mux signing key, which lives minutes to hours and which the data agent does not make: an asset with no public
playback id is imported unpublished with the reason and no links, never with links that cannot play.

Static renditions are read in both shapes Mux has documented: `static_renditions.files[]` of the deprecated
`mp4_support` (`high.mp4`, `capped-1080p.mp4`… ready when `static_renditions.status` is), and the per-rendition
objects of the Static Renditions API (`id`, `type`, `status`, `resolution`, `name`, `ext`…, each ready on its own);
the guide's bare list of rendition objects is read too.

An asset that is `preparing` or `errored`, or a test asset (watermarked, deleted by Mux after 24 hours), is
imported unpublished with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from ..model import Asset, Edition, Image, Source, Stream, Subtitle
from ..net import HttpClient
from .base import Fetched, Parse
from .ovp.auth import BasicCredentials
from .ovp.client import ApiClient
from .ovp.paging import Page, PageRequest, Paging, collect
from .ovp.platform import credential
from .ovp.rate_limit import RateLimitHeaders
from .ovp.store import PageStore, StoredItems, fetched_from
from .spec import TIMEOUT, Setting, SourceKind
from .streams import mark_default

LIMIT = 100
STREAM_HOST = "https://stream.mux.com"
IMAGE_HOST = "https://image.mux.com"
HLS_MIME = "application/vnd.apple.mpegurl"
# Mux limits API calls per second (not per minute): a spent quota is waited out for a second.
RATE_LIMIT = RateLimitHeaders(
    remaining="X-RateLimit-Remaining", limit="X-RateLimit-Limit", reset="X-RateLimit-Reset", window_seconds=1.0
)
NOT_READY = ("preparing", "waiting")
PUBLIC_ADVICE = "add a public playback ID to the asset on Mux to import it with links"


def _asset_id(item: Any) -> Any:
    """The asset's `id`; an entry of the list that is no object has none (and fails alone)."""
    return item.get("id") if isinstance(item, dict) else None


class MuxConnector:
    """`kind mux`."""

    kind = "mux"

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep

    def fetch(self, source: Source, http: HttpClient, workdir: Path) -> Fetched:
        """Read every asset of the token's environment into a page store in `workdir`."""
        api = ApiClient(
            http,
            source,
            SPEC,
            BasicCredentials(credential(source, "token_id", SPEC), credential(source, "token_secret", SPEC)),
            rate_limit=RATE_LIMIT,
            headers={"Accept": "application/json"},
            sleep=self._sleep,
        )
        first = source.url.rstrip("/") + "/video/v1/assets"

        def fetch_page(request: PageRequest) -> Page:
            body = api.get(request.next_url or f"{first}?{urlencode({'limit': request.size})}")
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise api.failed(f"its answer to {first} holds no list of assets under data")
            items = list(body["data"])
            return Page(items=items, next_url=_following(first, request, body, len(items)))

        store = PageStore(workdir / "assets.jsonl")
        paging = Paging(size=LIMIT, follow_next=True, item_id=_asset_id)
        collected = collect(fetch_page, paging, store.add, what="assets")
        return fetched_from(store, collected, None, first)

    def parse(self, source: Source, fetched: Fetched) -> Parse:
        """Map the stored assets to assets of the catalog."""
        assert fetched.path is not None
        return StoredItems(fetched.path, "mux-video", lambda item: mux_asset(item, source), _asset_id)


def _following(first: str, request: PageRequest, body: dict[str, Any], count: int) -> str | None:
    """The next page's URL: by `next_cursor` where Mux gives the key, else by page number while pages are full."""
    query: dict[str, Any] = {"limit": request.size}
    if "next_cursor" in body:
        cursor = body["next_cursor"]
        if not isinstance(cursor, str) or not cursor:
            return None
        return f"{first}?{urlencode(query | {'cursor': cursor})}"
    if count < request.size:
        return None
    return f"{first}?{urlencode(query | {'page': request.number + 1})}"


SPEC = SourceKind(
    kind="mux",
    title="Mux",
    access_hint=(
        "--credential token_id and --credential token_secret (an access token with Mux Video read permission, of"
        " the environment that holds the assets)"
    ),
    summary="the assets of a Mux Video environment",
    connector=MuxConnector,
    default_url="https://api.mux.com/",
    options=(TIMEOUT,),
    credentials=(
        Setting("token_id", "the access token's ID (Mux Video read permission)", required=True),
        Setting("token_secret", "the access token's secret", required=True),
    ),
)


# --- mapping ------------------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _whole(value: Any) -> int | None:
    """A positive whole number Mux gives as a number (or, for sizes, as text); anything else is no value."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = round(float(value))
    except (ValueError, OverflowError):
        return None
    return number if number > 0 else None


def _created(value: Any) -> datetime | None:
    """`created_at`: Unix seconds, as a string (Mux's documented form) or a number."""
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"created_at {str(value)[:40]!r} is not Unix seconds")
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (OverflowError, OSError):
        raise ValueError(f"created_at {str(value)[:40]!r} is not an instant Unix seconds can name") from None


def _seconds(value: Any) -> int | None:
    """`duration`: seconds as a float, rounded; an infinite or non-numeric value fails the item."""
    if value in (None, ""):
        return None
    seconds = round(float(value))
    return seconds if seconds > 0 else None


def _playback(asset: dict[str, Any]) -> tuple[str | None, list[str]]:
    """The first public playback id, and the policies of the others (signed, drm) when there is none."""
    public, others = None, []
    for entry in asset.get("playback_ids") or []:
        if not isinstance(entry, dict):
            continue
        playback_id, policy = _text(entry.get("id")), _text(entry.get("policy"))
        if playback_id is None:
            continue
        if policy == "public" and public is None:
            public = playback_id
        elif policy != "public":
            others.append(str(policy)[:20])
    return public, others


def _video_size(asset: dict[str, Any]) -> tuple[int | None, int | None]:
    """The largest width and height of the video track: what the HLS stream plays at best."""
    for track in asset.get("tracks") or []:
        if isinstance(track, dict) and track.get("type") == "video":
            return _whole(track.get("max_width")), _whole(track.get("max_height"))
    return None, None


def _rendition_files(asset: dict[str, Any], notes: list[str]) -> list[tuple[Any, Any]]:
    """Each static rendition file with the status that applies to it (its own, else the rendition set's)."""
    renditions = asset.get("static_renditions")
    if renditions is None:
        return []
    if isinstance(renditions, list):  # the guide shows the per-rendition objects as a bare list
        files, overall = renditions, None
    elif isinstance(renditions, dict):
        files, overall = renditions.get("files") or [], renditions.get("status")
    else:
        files, overall = None, None
    if not isinstance(files, list):
        notes.append("Mux's static_renditions holds no list of files: the mp4 renditions were not read")
        return []
    return [(entry, entry.get("status", overall) if isinstance(entry, dict) else None) for entry in files]


def _rendition_streams(asset: dict[str, Any], playback_id: str, notes: list[str]) -> list[Stream]:
    """The ready static renditions (mp4, m4a) of the asset, served under its public playback id."""
    streams = []
    for n, (entry, status) in enumerate(_rendition_files(asset, notes)):
        name = _text(entry.get("name")) if isinstance(entry, dict) else None
        if name is None or "/" in name:
            notes.append(f"static rendition {n} has no file name: not read")
            continue
        if status not in ("ready", None):
            notes.append(f"static rendition {name[:40]} is {str(status)[:20]} on Mux: not read")
            continue
        audio = entry.get("ext") == "m4a" or name.endswith(".m4a")
        bitrate = _whole(entry.get("bitrate"))
        streams.append(
            Stream(
                url=f"{STREAM_HOST}/{quote(playback_id)}/{quote(name)}",
                type="mp4",
                mime="audio/mp4" if audio else "video/mp4",
                bitrate=bitrate // 1000 if bitrate else None,
                width=None if audio else _whole(entry.get("width")),
                height=None if audio else _whole(entry.get("height")),
            )
        )
    return streams


def _subtitles(asset: dict[str, Any], playback_id: str, notes: list[str]) -> list[Subtitle]:
    """Ready text tracks of type subtitles, as WebVTT under the asset's public playback id."""
    subtitles = []
    for track in asset.get("tracks") or []:
        if not isinstance(track, dict) or track.get("type") != "text":
            continue
        track_id = _text(track.get("id"))
        if track.get("text_type", "subtitles") != "subtitles" or track_id is None or "/" in track_id:
            continue
        status = track.get("status", "ready")
        if status != "ready":
            notes.append(f"text track {track_id[:40]} is {str(status)[:20]} on Mux: not read")
            continue
        subtitles.append(
            Subtitle(
                url=f"{STREAM_HOST}/{quote(playback_id)}/text/{quote(track_id)}.vtt",
                language=_text(track.get("language_code")),
                label=_text(track.get("name")),
            )
        )
    return subtitles


def _withheld(asset: dict[str, Any], playback_id: str | None, others: list[str]) -> str | None:
    """Why the asset is not to be published: not ready, errored, a test asset, or no public playback id."""
    status = asset.get("status")
    if status in NOT_READY:
        return f"the asset is not ready on Mux yet (status {status})"
    if status == "errored":
        errors = asset["errors"] if isinstance(asset.get("errors"), dict) else {}
        messages = errors.get("messages") if isinstance(errors.get("messages"), list) else []
        kind = _text(errors.get("type"))
        detail = "; ".join(([kind[:80]] if kind else []) + [str(m)[:200] for m in messages[:3] if m])
        return "Mux could not process the asset (status errored" + (f": {detail})" if detail else ")")
    if status not in (None, "ready"):
        return f"the asset's status on Mux is {str(status)[:40]}, not ready"
    if asset.get("test") is True:
        return "the asset is a Mux test asset (watermarked, limited to 10 seconds, deleted by Mux after 24 hours)"
    if playback_id is None:
        if others:
            policies = ", ".join(sorted(set(others)))
            return (
                f"the asset plays only with a signed token on Mux (playback policy {policies}); such tokens expire"
                f" and the data agent does not sign Mux playback, so no link was stored: {PUBLIC_ADVICE}"
            )
        return f"the asset has no playback ID on Mux, so nothing can play it: {PUBLIC_ADVICE}"
    return None


def mux_asset(asset: dict[str, Any], source: Source) -> Asset:
    """One asset of the Mux Video API as an asset of the catalog."""
    asset_id = str(asset["id"])
    meta = asset["meta"] if isinstance(asset.get("meta"), dict) else {}
    notes: list[str] = []
    playback_id, others = _playback(asset)
    streams: list[Stream] = []
    subtitles: list[Subtitle] = []
    images: list[Image] = []
    if playback_id is not None and asset.get("status", "ready") == "ready":
        width, height = _video_size(asset)
        hls = f"{STREAM_HOST}/{quote(playback_id)}.m3u8"
        streams = [Stream(url=hls, type="hls", mime=HLS_MIME, width=width, height=height)]
        streams += _rendition_streams(asset, playback_id, notes)
        subtitles = _subtitles(asset, playback_id, notes)
        images = [Image(url=f"{IMAGE_HOST}/{quote(playback_id)}/thumbnail.jpg", role="thumbnail")]
    custom = {}
    for key in ("external_id", "creator_id"):
        if _text(meta.get(key)):
            custom[key] = str(meta[key]).strip()
    for key in ("passthrough", "aspect_ratio", "resolution_tier"):
        if _text(asset.get(key)):
            custom[key] = str(asset[key]).strip()
    return Asset(
        external_id=asset_id,
        type=source.asset_type,
        title=_text(meta.get("title")),
        duration=_seconds(asset.get("duration")),
        published_at=_created(asset.get("created_at")),
        images=images,
        editions=[Edition(name="full", streams=mark_default(streams), subtitles=subtitles)],
        custom=custom,
        notes=notes,
        unpublished=_withheld(asset, playback_id, others),
    )
