"""Brightcove Video Cloud: the CMS API videos of an account, with their sources.

`--credential client_id=…`, `--credential client_secret=…` are exchanged for an access token at the OAuth API
(`--option oauth_url=…`, default `https://oauth.brightcove.com/v4/access_token`: HTTP Basic, body
`grant_type=client_credentials`). Tokens live 300 s; one is renewed 30 s before it expires, and once more if the CMS
API answers 401. `--url` is the CMS API base (default `https://cms.api.brightcove.com/v1/`), `--option
account_id=…` the account. `GET accounts/{id}/counts/videos` gives the total, `GET accounts/{id}/videos` pages with
`limit` (100, the most allowed) and `offset`, sorted by `created_at` so videos added meanwhile land at the end. The
sources of each video (`videos/{id}/sources`) are fetched a few at a time (`--option concurrency=N`, default 4).
Incremental fetches search `q=updated_at:<since>..`.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from ..model import Asset, Availability, Edition, Geoblock, Image, Source, Stream, Subtitle, parse_instant
from ..net import AuthRejected, HttpClient
from .base import Fetched, Parse, source_timeout
from .ovp.auth import ExpiringToken, auth_error
from .ovp.client import ApiClient, map_bounded
from .ovp.paging import Page, PageRequest, Paging, collect, item_id_field
from .ovp.platform import credential, int_option, option
from .ovp.store import PageStore, StoredItems, fetched_from
from .ovp.sweep import Sweep
from .spec import CONCURRENCY, FULL_SWEEP_EVERY, INCREMENTAL, TIMEOUT, Setting, SourceKind
from .streams import mark_default, stream_type

DEFAULT_OAUTH_URL = "https://oauth.brightcove.com/v4/access_token"
LIMIT = 100


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

        def with_sources(videos: list[dict[str, Any]]) -> None:
            found = map_bounded(lambda video: api.get(base + f"videos/{video['id']}/sources"), videos, concurrency)
            for video, sources in zip(videos, found, strict=True):
                video["sources"] = sources
            store.add(videos)

        store = PageStore(workdir / "videos.jsonl")
        collected = collect(fetch_page, Paging(size=LIMIT), with_sources, what="videos")
        return fetched_from(store, collected, sweep, base + "videos")

    def parse(self, source: Source, fetched: Fetched) -> Parse:
        """Map the stored videos to assets."""
        assert fetched.path is not None
        return StoredItems(fetched.path, "brightcove-cms", lambda item: video_asset(item, source), item_id_field)

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


def _streams(sources: list[dict[str, Any]]) -> list[Stream]:
    """Playable sources (RTMP ones without `src` are not), https preferred over an http copy of the same file."""
    usable = [s for s in sources if s.get("src")]
    secure = {s["src"].split("://", 1)[1] for s in usable if s["src"].startswith("https://")}
    streams = []
    for s in usable:
        if s["src"].startswith("http://") and s["src"].split("://", 1)[1] in secure:
            continue
        mime = s.get("type") or ("video/mp4" if (s.get("container") or "").upper() == "MP4" else None)
        streams.append(
            Stream(
                url=s["src"],
                type=stream_type(mime, s["src"]),
                mime=mime,
                drm=next(iter(s.get("key_systems") or {}), None),
                bitrate=int(s["encoding_rate"]) // 1000 if s.get("encoding_rate") else None,
                width=s.get("width"),
                height=s.get("height"),
            )
        )
    return mark_default(streams)


def _geoblock(geo: dict[str, Any] | None) -> Geoblock | None:
    if not geo or not geo.get("restricted"):
        return None
    countries = sorted({str(c).upper() for c in geo.get("countries") or []})
    return Geoblock(mode="deny" if geo.get("exclude_countries") else "allow", countries=countries)


def video_asset(item: dict[str, Any], source: Source) -> Asset:
    """One CMS API video (with its `sources`) as an asset."""
    schedule = item.get("schedule") or {}
    start, end = parse_instant(schedule.get("starts_at")), parse_instant(schedule.get("ends_at"))
    images = item.get("images") or {}
    custom = {str(k): str(v) for k, v in (item.get("custom_fields") or {}).items() if v is not None}
    if item.get("reference_id"):
        custom["reference_id"] = str(item["reference_id"])
    if item.get("state"):
        custom["state"] = str(item["state"])
    subtitles = [
        Subtitle(url=t["src"], language=t.get("srclang"), label=t.get("label"))
        for t in item.get("text_tracks") or []
        if t.get("src") and t.get("kind") in ("captions", "subtitles")
    ]
    duration_ms = item.get("duration")
    return Asset(
        external_id=str(item["id"]),
        type=source.asset_type,
        title=item.get("name") or None,
        description=item.get("long_description") or item.get("description") or None,
        short_description=item.get("description") if item.get("long_description") else None,
        duration=round(int(duration_ms) / 1000) if duration_ms else None,
        published_at=parse_instant(item.get("published_at")),
        availability=Availability(start=start, end=end) if start or end else None,
        images=[
            Image(url=images[name]["src"], role=role)
            for name, role in (("poster", "poster"), ("thumbnail", "thumbnail"))
            if (images.get(name) or {}).get("src")
        ],
        tags=[str(t) for t in item.get("tags") or [] if str(t).strip()],
        geoblock=_geoblock(item.get("geo")),
        editions=[Edition(name="full", streams=_streams(item.get("sources") or []), subtitles=subtitles)],
        custom=custom,
    )
