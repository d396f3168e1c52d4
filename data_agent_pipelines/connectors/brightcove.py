"""Brightcove Video Cloud: the CMS API videos of an account, with their sources.

`--credential client_id=…`, `--credential client_secret=…` are exchanged for an access token at the OAuth API
(`--option oauth_url=…`, default `https://oauth.brightcove.com/v4/access_token`: HTTP Basic, body
`grant_type=client_credentials`). Tokens live 300 s; one is renewed 30 s before it expires, and once more if the CMS
API answers 401. `--url` is the CMS API base (default `https://cms.api.brightcove.com/v1/`), `--option
account_id=…` the account. `GET accounts/{id}/counts/videos` gives the total, `GET accounts/{id}/videos` pages with
`limit` (100, the most allowed) and `offset`, sorted by `created_at` so videos added meanwhile land at the end. The
sources of each video (`videos/{id}/sources`) are fetched a few at a time (`--option concurrency=N`, default 4).
Incremental fetches search `q=updated_at:<since>..`.

The video's `state` decides its publication: ACTIVE is published, INACTIVE and PENDING are imported unpublished
with the reason, and a DELETED video is skipped (its asset counts as gone from the account). DRM key systems
(`com.widevine.alpha`, `com.microsoft.playready`, `com.apple.fps.1_0`) become the asset model's widevine /
playready / fairplay, one stream per key system with its license URLs as DRM data. Brightcove signs the URLs it
returns with tokens that live a few hours (an account setting): a signed link carries `expires`, read from the
token where its format says it, else the time it was read, so every import renews it without reporting an update.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

from ..model import Asset, Availability, Edition, Geoblock, Image, Source, Stream, Subtitle, parse_instant
from ..net import AuthRejected, HttpClient
from .base import Fetched, Parse, source_timeout
from .ovp.auth import ExpiringToken, auth_error
from .ovp.client import ApiClient, map_bounded
from .ovp.links import is_signed, link_expiry
from .ovp.paging import Page, PageRequest, Paging, collect, item_id_field
from .ovp.platform import credential, int_option, option
from .ovp.store import PageStore, StoredItems, fetched_from
from .ovp.sweep import Sweep
from .spec import CONCURRENCY, FULL_SWEEP_EVERY, INCREMENTAL, TIMEOUT, Setting, SourceKind
from .streams import mark_default, stream_type

DEFAULT_OAUTH_URL = "https://oauth.brightcove.com/v4/access_token"
LIMIT = 100
# Stored with a video whose links are signed: when its sources were read (see `link_expiry`).
READ_AT = "_sources_read_at"


def _has_id(video: Any) -> bool:
    return isinstance(video, dict) and isinstance(video.get("id"), str | int) and not isinstance(video["id"], bool)


def _signed(video: dict[str, Any]) -> bool:
    """Whether any source or text track link of the video carries a signature."""
    for key in ("sources", "text_tracks"):
        links = video.get(key)
        for link in links if isinstance(links, list) else []:
            src = link.get("src") if isinstance(link, dict) else None
            if isinstance(src, str) and is_signed(src):
                return True
    return False


class BrightcoveConnector:
    """`kind brightcove`."""

    kind = "brightcove"

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._sleep = sleep
        self._now = now or (lambda: datetime.now(UTC))
        self._clock = clock

    def fetch(self, source: Source, http: HttpClient, workdir: Path) -> Fetched:
        """Read every video (or every changed one) and its sources into a page store in `workdir`."""
        account = option(source, "account_id", SPEC)
        token = ExpiringToken(lambda: self._token(source, http), clock=self._clock)
        api = ApiClient(http, source, SPEC, token, headers={"Accept": "application/json"}, sleep=self._sleep)
        base = urljoin(source.url.rstrip("/") + "/", f"accounts/{account}/")
        sweep = Sweep.plan(source, now=self._now())
        search = {"q": f"updated_at:{sweep.since.strftime('%Y-%m-%dT%H:%M:%SZ')}.."} if sweep.since else {}
        total = int(api.get(base + "counts/videos", search).get("count", 0))
        concurrency = int_option(source, "concurrency", 4, 1, 8)

        def fetch_page(request: PageRequest) -> Page:
            params = {"limit": request.size, "offset": request.offset, "sort": "created_at", **search}
            return Page(items=list(api.get(base + "videos", params)), total=total)

        def with_sources(videos: list[Any]) -> None:
            # A video that is no object or has no usable id is stored as it came: its mapping fails it alone.
            # A deleted one has nothing to play: no call.
            wanted = [v for v in videos if _has_id(v) and skip_reason(v) is None]
            found = map_bounded(
                lambda video: api.get(base + f"videos/{quote(str(video['id']))}/sources"), wanted, concurrency
            )
            read_at = self._now()
            for video, sources in zip(wanted, found, strict=True):
                video["sources"] = sources
                if _signed(video):
                    video[READ_AT] = read_at.isoformat()
            store.add(videos)

        store = PageStore(workdir / "videos.jsonl")
        collected = collect(fetch_page, Paging(size=LIMIT), with_sources, what="videos")
        return fetched_from(store, collected, sweep, base + "videos")

    def parse(self, source: Source, fetched: Fetched) -> Parse:
        """Map the stored videos to assets."""
        assert fetched.path is not None
        return StoredItems(
            fetched.path, "brightcove-cms", lambda item: video_asset(item, source), item_id_field, skip_reason
        )

    def _token(self, source: Source, http: HttpClient) -> tuple[str, float]:
        """A fresh access token and its lifetime, from the OAuth API (client credentials grant)."""
        pair = f"{credential(source, 'client_id', SPEC)}:{credential(source, 'client_secret', SPEC)}"
        basic = base64.b64encode(pair.encode()).decode()
        url = source.options.get("oauth_url") or DEFAULT_OAUTH_URL
        try:
            response = http.request(
                "POST",
                url,
                headers={"Authorization": f"Basic {basic}"},
                data={"grant_type": "client_credentials"},
                timeout=source_timeout(source),
            )
        except AuthRejected as exc:
            raise auth_error(SPEC, exc) from None
        body = response.json()
        return str(body["access_token"]), float(body.get("expires_in") or 300)


SPEC = SourceKind(
    kind="brightcove",
    title="Brightcove",
    access_hint=(
        "--credential client_id and --credential client_secret (API credentials with video-cloud/video/read for"
        " --option account_id)"
    ),
    summary="the videos of a Brightcove Video Cloud account (CMS API)",
    connector=BrightcoveConnector,
    default_url="https://cms.api.brightcove.com/v1/",
    options=(
        Setting("account_id", "the Video Cloud account ID", required=True),
        Setting("oauth_url", f"where access tokens are obtained (default {DEFAULT_OAUTH_URL})", is_url=True),
        CONCURRENCY,
        INCREMENTAL,
        FULL_SWEEP_EVERY,
        TIMEOUT,
    ),
    credentials=(
        Setting("client_id", "the API credential's client ID", required=True),
        Setting("client_secret", "its client secret", required=True),
    ),
)


# --- mapping ------------------------------------------------------------------------------------------------------

# The CMS API's `state`: ACTIVE plays; INACTIVE was deactivated in Studio or the API; PENDING is a video being
# created (no playable rendition yet); DELETED is gone. Why each other state is not published:
WITHHELD_STATES = {
    "INACTIVE": "the video is deactivated in Brightcove (state INACTIVE): it cannot be played",
    "PENDING": "the video is still being created in Brightcove (state PENDING): it has no playable rendition yet",
}
DELETED_STATE = "DELETED"
SKIPPED_DELETED = "deleted in Brightcove (state DELETED)"
# Key systems (EME ids) as the asset model names their DRM.
KEY_SYSTEMS = {
    "com.widevine.alpha": "widevine",
    "com.microsoft.playready": "playready",
    "com.microsoft.playready.recommendation": "playready",
    "com.apple.fps": "fairplay",
    "com.apple.fps.1_0": "fairplay",
    "com.apple.fps.2_0": "fairplay",
    "com.apple.fps.3_0": "fairplay",
}


def skip_reason(item: dict[str, Any]) -> str | None:
    """Why a listed video is no asset at all: only a deleted one (its asset then counts as gone)."""
    return SKIPPED_DELETED if item.get("state") == DELETED_STATE else None


def _withheld(item: dict[str, Any]) -> str | None:
    """Why Brightcove does not play the video (None for ACTIVE, and for a video that states nothing)."""
    state = item.get("state")
    if state is None or state == "ACTIVE":
        return None
    if state in WITHHELD_STATES:
        return WITHHELD_STATES[state]
    return f"the video's state {str(state)[:40]!r} is not one Brightcove documents as playable"


def _address(url: str) -> str:
    """Where a link points, whatever its scheme and signature: an http copy of an https source is the same file."""
    return url.split("://", 1)[-1].split("?", 1)[0].split("#", 1)[0]


def _drm(key_systems: Any, where: str, notes: list[str]) -> list[tuple[str | None, dict[str, Any] | None]]:
    """The DRM of a source, one (asset model name, what a player needs) per key system; [(None, None)] in clear."""
    if not key_systems:
        return [(None, None)]
    if not isinstance(key_systems, dict):
        raise TypeError(f"{where}: key_systems is a {type(key_systems).__name__}, not an object of key systems")
    found: list[tuple[str | None, dict[str, Any] | None]] = []
    for system, data in key_systems.items():
        name = KEY_SYSTEMS.get(str(system).lower())
        if name is None:
            notes.append(f"{where}: the key system {str(system)[:60]!r} is not one the asset model names: kept as is")
            name = str(system)[:60]
        found.append((name, dict(data) if isinstance(data, dict) and data else None))
    return found


def _streams(sources: Any, read_at: datetime | None, notes: list[str]) -> list[Stream]:
    """Playable sources (RTMP ones without `src` are not), https preferred over an http copy of the same file.

    A DRM-protected source gives one stream per key system (the asset model names one DRM per stream), its
    license and certificate URLs as the stream's DRM data.
    """
    if not isinstance(sources, list):
        raise TypeError(f"the video's sources are a {type(sources).__name__}, not a list")
    usable = [s for s in sources if isinstance(s, dict) and isinstance(s.get("src"), str) and s["src"]]
    secure = {_address(s["src"]) for s in usable if s["src"].startswith("https://")}
    streams = []
    for n, s in enumerate(usable):
        src = s["src"]
        if src.startswith("http://") and _address(src) in secure:
            continue
        mime = s.get("type") if isinstance(s.get("type"), str) else None
        if mime is None and str(s.get("container") or "").upper() == "MP4":
            mime = "video/mp4"
        rate = s.get("encoding_rate")
        for drm, drm_data in _drm(s.get("key_systems"), f"source {n}", notes):
            streams.append(
                Stream(
                    url=src,
                    type=stream_type(mime, src),
                    mime=mime,
                    drm=drm,
                    bitrate=int(rate) // 1000 if rate else None,
                    width=s.get("width"),
                    height=s.get("height"),
                    expires=link_expiry(src, read_at),
                    drm_data=drm_data,
                )
            )
    return mark_default(streams)


def _geoblock(geo: dict[str, Any] | None) -> Geoblock | None:
    if not geo or not geo.get("restricted"):
        return None
    countries = sorted({str(c).upper() for c in geo.get("countries") or []})
    return Geoblock(mode="deny" if geo.get("exclude_countries") else "allow", countries=countries)


def _instant(value: Any) -> datetime | None:
    """An instant as the CMS API gives it: ISO 8601 text, or (as its fields reference says) epoch milliseconds."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str):
        return parse_instant(value)
    raise TypeError(f"{str(value)[:40]!r} is not an instant")


def _subtitles(tracks: Any, read_at: datetime | None) -> list[Subtitle]:
    if not isinstance(tracks, list):
        raise TypeError(f"text_tracks is a {type(tracks).__name__}, not a list")
    return [
        Subtitle(url=t["src"], language=t.get("srclang"), label=t.get("label"), expires=link_expiry(t["src"], read_at))
        for t in tracks
        if isinstance(t, dict) and isinstance(t.get("src"), str) and t["src"] and t.get("kind") in CAPTION_KINDS
    ]


CAPTION_KINDS = ("captions", "subtitles")


def video_asset(item: dict[str, Any], source: Source) -> Asset:
    """One CMS API video (with its `sources`) as an asset."""
    schedule = item.get("schedule") or {}
    start, end = _instant(schedule.get("starts_at")), _instant(schedule.get("ends_at"))
    images = item.get("images") or {}
    custom = {str(k): str(v) for k, v in (item.get("custom_fields") or {}).items() if v is not None}
    for name in ("reference_id", "state", "playback_rights_id"):
        if item.get(name):
            custom[name] = str(item[name])
    read_at = _instant(item.get(READ_AT))
    notes: list[str] = []
    duration_ms = item.get("duration")
    streams = _streams(item.get("sources") or [], read_at, notes)
    return Asset(
        external_id=str(item["id"]),
        type=source.asset_type,
        title=item.get("name") or None,
        description=item.get("long_description") or item.get("description") or None,
        short_description=item.get("description") if item.get("long_description") else None,
        duration=round(int(duration_ms) / 1000) if duration_ms else None,
        published_at=_instant(item.get("published_at")),
        availability=Availability(start=start, end=end) if start or end else None,
        images=[
            Image(url=images[name]["src"], role=role)
            for name, role in (("poster", "poster"), ("thumbnail", "thumbnail"))
            if (images.get(name) or {}).get("src")
        ],
        tags=[str(t) for t in item.get("tags") or [] if str(t).strip()],
        geoblock=_geoblock(item.get("geo")),
        editions=[Edition(name="full", streams=streams, subtitles=_subtitles(item.get("text_tracks") or [], read_at))],
        custom=custom,
        notes=notes,
        unpublished=_withheld(item),
    )
