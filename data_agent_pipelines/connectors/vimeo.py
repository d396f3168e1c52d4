"""Vimeo: the videos of a user through the Vimeo API (`/users/{user_id}/videos`, or `/me/videos`).

`--credential access_token=…` (sent as `Authorization: bearer`), `--option user_id=…` (default `me`, the token's
owner), `--url` the API base (default `https://api.vimeo.com/`). Every call sends the versioned `Accept` header
(API 3.4) and `fields=` to trim the answers to what is mapped. Pages of `per_page=100` (the most allowed) are
followed through `paging.next` until `total` is reached. `X-RateLimit-Remaining` / `X-RateLimit-Reset` pace the
calls. `files` (download renditions) and `play` (progressive, HLS, DASH links) are present only when the token
may see them (the owner's token, on plans that allow it); without them an asset keeps its `link` in `custom`.
The API has no updated-since filter on this list, so every fetch is a full sweep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

from ..model import Asset, Edition, Image, Source, Stream, parse_instant
from ..net import HttpClient
from .base import Fetched, Parse
from .ovp.auth import BearerSecret
from .ovp.client import ApiClient
from .ovp.paging import Page, PageRequest, Paging, collect
from .ovp.platform import credential
from .ovp.rate_limit import RateLimitHeaders
from .ovp.store import PageStore, StoredItems, fetched_from
from .spec import FULL_SWEEP_EVERY, INCREMENTAL, TIMEOUT, Setting, SourceKind
from .streams import mark_default

ACCEPT = "application/vnd.vimeo.*+json;version=3.4"
PER_PAGE = 100
FIELDS = (
    "uri,name,description,duration,created_time,modified_time,release_time,link,language,pictures.sizes,"
    "tags.name,categories.name,content_rating,files,play"
)
RATE_LIMIT = RateLimitHeaders(remaining="X-RateLimit-Remaining", reset="X-RateLimit-Reset")


def _video_id(item: dict[str, Any]) -> Any:
    uri = str(item.get("uri") or "")
    return uri.rstrip("/").rsplit("/", 1)[-1] if uri else None


class VimeoConnector:
    """`kind vimeo`."""

    kind = "vimeo"

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep):
        self._sleep = sleep

    def fetch(self, source: Source, http: HttpClient, workdir: Path) -> Fetched:
        """Read every video of the user into a page store in `workdir`."""
        api = ApiClient(
            http,
            source,
            SPEC,
            BearerSecret(credential(source, "access_token", SPEC), scheme="bearer"),
            rate_limit=RATE_LIMIT,
            headers={"Accept": ACCEPT},
            sleep=self._sleep,
        )
        base = source.url.rstrip("/") + "/"
        user = (source.options.get("user_id") or "me").strip()
        first = urljoin(base, "me/videos" if user == "me" else f"users/{quote(user, safe='')}/videos")

        def fetch_page(request: PageRequest) -> Page:
            if request.next_url:
                body = api.get(request.next_url)
            else:
                body = api.get(first, {"page": 1, "per_page": request.size, "fields": FIELDS})
            following = (body.get("paging") or {}).get("next")
            return Page(
                items=list(body.get("data") or []),
                total=body.get("total"),
                next_url=urljoin(base, following.lstrip("/")) if following else None,
            )

        store = PageStore(workdir / "videos.jsonl")
        paging = Paging(size=PER_PAGE, follow_next=True, item_id=_video_id)
        collected = collect(fetch_page, paging, store.add, what="videos")
        return fetched_from(store, collected, None, first)

    def parse(self, source: Source, fetched: Fetched) -> Parse:
        """Map the stored videos to assets."""
        assert fetched.path is not None
        return StoredItems(fetched.path, "vimeo-api", lambda item: video_asset(item, source), _video_id)


SPEC = SourceKind(
    kind="vimeo",
    title="Vimeo",
    access_hint="--credential access_token (a token with the public and private scopes) and --option user_id",
    summary="the videos of a Vimeo account",
    connector=VimeoConnector,
    default_url="https://api.vimeo.com/",
    options=(
        Setting("user_id", "whose videos to read (default me: the token's own account)"),
        INCREMENTAL,
        FULL_SWEEP_EVERY,
        TIMEOUT,
    ),
    credentials=(Setting("access_token", "a Vimeo API access token", required=True),),
)


# --- mapping ------------------------------------------------------------------------------------------------------


def _streams(video: dict[str, Any]) -> list[Stream]:
    play = video.get("play") or {}
    streams = []
    for kind, mime in (("hls", "application/vnd.apple.mpegurl"), ("dash", "application/dash+xml")):
        link = (play.get(kind) or {}).get("link")
        if link:
            streams.append(Stream(url=link, type=kind, mime=mime))
    renditions = play.get("progressive") or [f for f in video.get("files") or [] if f.get("type") == "video/mp4"]
    for rendition in renditions:
        if rendition.get("link"):
            streams.append(
                Stream(
                    url=rendition["link"],
                    type="mp4",
                    mime="video/mp4",
                    width=rendition.get("width"),
                    height=rendition.get("height"),
                )
            )
    if not any(s.type in ("hls", "dash") for s in streams):
        hls = next((f for f in video.get("files") or [] if f.get("quality") == "hls" and f.get("link")), None)
        if hls:
            streams.insert(0, Stream(url=hls["link"], type="hls", mime="application/vnd.apple.mpegurl"))
    return mark_default(streams)


def video_asset(video: dict[str, Any], source: Source) -> Asset:
    """One video of the Vimeo API as an asset."""
    sizes = (video.get("pictures") or {}).get("sizes") or []
    custom = {"link": str(video["link"])} if video.get("link") else {}
    if video.get("language"):
        custom["language"] = str(video["language"])
    ratings = video.get("content_rating") or []
    if ratings:
        custom["content_rating"] = ",".join(str(r) for r in ratings)
    published = parse_instant(video.get("release_time")) or parse_instant(video.get("created_time"))
    return Asset(
        external_id=str(_video_id(video)),
        type=source.asset_type,
        title=video.get("name") or None,
        description=video.get("description") or None,
        duration=int(video["duration"]) if video.get("duration") else None,
        published_at=published,
        images=[
            Image(url=s["link"], role="thumbnail", width=s.get("width"), height=s.get("height"))
            for s in sizes
            if s.get("link")
        ],
        tags=[str(t["name"]) for t in video.get("tags") or [] if t.get("name")],
        genres=[str(c["name"]) for c in video.get("categories") or [] if c.get("name")],
        editions=[Edition(name="full", streams=_streams(video))],
        custom=custom,
    )
