"""Vimeo: the videos of a user through the Vimeo API (`/users/{user_id}/videos`, or `/me/videos`).

`--credential access_token=…` (sent as `Authorization: bearer`), `--option user_id=…` (default `me`, the token's
owner), `--url` the API base (default `https://api.vimeo.com/`). Every call sends the versioned `Accept` header
(API 3.4) and `fields=` to trim the answers to what is mapped. Pages of `per_page=100` (the most allowed) are
followed through `paging.next`. `X-RateLimit-Remaining` / `X-RateLimit-Reset` pace the calls.

Streams come from `files` (Vimeo's help: "these links do not expire"), which Vimeo returns only to a token with the
`video_files` scope that belongs to the videos' owner; its `quality: hls` entry is the HLS stream whatever its
`type` says. Only when a video has no `files` are its `play` links used: they expire after 24 hours, so they carry
`expires` and are renewed by each import. A video that comes without either gets a reason naming the scope, and the
fetch a note. Captions come from `/videos/{id}/texttracks` (one call per video that has any, a few at a time,
`--option texttracks=false` to skip): their links are signed and expire, so they carry `expires` too.

A video that is private (`privacy.view` nobody, contacts, users or password) or not `available` (uploading,
transcoding, failed, over quota) is imported unpublished, with the reason. Incremental fetches list the videos
`sort=modified_time&direction=desc` and stop at the first one not modified since the last good import; the full
sweep that renews every expiring link runs every 12 hours by default.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

from ..model import Asset, Edition, Image, Source, Stream, Subtitle, parse_instant
from ..net import HttpClient, HTTPStatusError
from ..schedule import parse_duration
from .base import Fetched, Parse
from .ovp.auth import BearerSecret
from .ovp.client import ApiClient, map_bounded
from .ovp.links import link_expiry
from .ovp.paging import Page, PageRequest, Paging, collect
from .ovp.platform import bool_option, credential, int_option
from .ovp.rate_limit import RateLimitHeaders
from .ovp.store import PageStore, StoredItems, fetched_from
from .ovp.sweep import Sweep
from .spec import CONCURRENCY, INCREMENTAL, TIMEOUT, Setting, SourceKind
from .streams import mark_default, stream_type

ACCEPT = "application/vnd.vimeo.*+json;version=3.4"
PER_PAGE = 100
FIELDS = (
    "uri,name,description,duration,created_time,modified_time,release_time,link,language,pictures.sizes,"
    "tags.name,categories.name,content_rating,status,privacy.view,metadata.connections.texttracks.total,files,play"
)
TEXTTRACK_FIELDS = "uri,active,type,language,display_language,name,link,link_expires_time"
RATE_LIMIT = RateLimitHeaders(remaining="X-RateLimit-Remaining", reset="X-RateLimit-Reset")
HLS_MIME = "application/vnd.apple.mpegurl"
DASH_MIME = "application/dash+xml"
# `privacy.view` values under which Vimeo shows the video to a restricted audience only.
PRIVATE_VIEWS = {
    "nobody": "only its owner may view it",
    "contacts": "only the owner's contacts may view it",
    "users": "only logged-in Vimeo members may view it",
    "password": "it is password-protected",
}
PUBLIC_VIEWS = ("anybody", "unlisted", "disable")  # `disable`: hidden from vimeo.com, embeddable and playable
NOT_READY = ("uploading", "transcode_starting", "transcoding")
# Vimeo's signed links (play, captions) live about a day; incremental fetches re-read only changed videos, so the
# full sweep that renews every link comes twice a day unless the source says otherwise.
DEFAULT_FULL_SWEEP = "12h"
SCOPE_ADVICE = (
    "give the access token the video_files scope (with public and private), from the account that owns the videos"
)


def _video_id(item: dict[str, Any]) -> Any:
    uri = str(item.get("uri") or "")
    return uri.rstrip("/").rsplit("/", 1)[-1] if uri else None


def _lacks_links(video: dict[str, Any]) -> bool:
    """Whether Vimeo left out the file links of a playable video (it does for a token without video_files)."""
    return "files" not in video and "play" not in video and video.get("status", "available") == "available"


def _texttrack_count(video: dict[str, Any]) -> Any:
    """`metadata.connections.texttracks.total`: how many text tracks the video says it has (None: it does not say)."""
    value: Any = video
    for key in ("metadata", "connections", "texttracks", "total"):
        value = value.get(key) if isinstance(value, dict) else None
    return value


class VimeoConnector:
    """`kind vimeo`."""

    kind = "vimeo"

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, now: Callable[[], datetime] | None = None):
        self._sleep = sleep
        self._now = now or (lambda: datetime.now(UTC))

    def fetch(self, source: Source, http: HttpClient, workdir: Path) -> Fetched:
        """Read every video of the user (or those modified since the last good import) into a page store."""
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
        sweep = _plan_sweep(source, self._now())
        texttracks = bool_option(source, "texttracks")
        concurrency = int_option(source, "concurrency", 4, 1, 8)
        without_links = 0

        def fetch_page(request: PageRequest) -> Page:
            if request.next_url:
                body = api.get(request.next_url)
            else:
                params: dict[str, Any] = {"page": 1, "per_page": request.size, "fields": FIELDS}
                if sweep.since is not None:
                    params |= {"sort": "modified_time", "direction": "desc"}
                body = api.get(first, params)
            following = (body.get("paging") or {}).get("next")
            page = Page(
                items=list(body.get("data") or []),
                total=body.get("total"),
                next_url=urljoin(base, following.lstrip("/")) if following else None,
            )
            return page if sweep.since is None else _changed_since(page, sweep.since)

        def keep(items: list[dict[str, Any]]) -> None:
            nonlocal without_links
            without_links += sum(1 for v in items if isinstance(v, dict) and _lacks_links(v))
            if texttracks:
                # Only videos that say they have text tracks (or do not say) cost a call.
                captioned = [v for v in items if isinstance(v, dict) and _texttrack_count(v) != 0 and _video_id(v)]
                found = map_bounded(lambda video: _texttracks(api, base, video), captioned, concurrency)
                for video, answer in zip(captioned, found, strict=True):
                    video["texttracks"] = answer
            store.add(items)

        store = PageStore(workdir / "videos.jsonl")
        paging = Paging(size=PER_PAGE, follow_next=True, item_id=_video_id)
        collected = collect(fetch_page, paging, keep, what="videos")
        fetched = fetched_from(store, collected, sweep, first)
        if without_links:
            fetched.notes.append(
                f"{without_links} of {store.count} videos came without file links (Vimeo's files and play), "
                f"so their assets have no streams: {SCOPE_ADVICE}"
            )
        return fetched

    def parse(self, source: Source, fetched: Fetched) -> Parse:
        """Map the stored videos to assets."""
        assert fetched.path is not None
        return StoredItems(fetched.path, "vimeo-api", lambda item: video_asset(item, source), _video_id)


def _plan_sweep(source: Source, now: datetime) -> Sweep:
    """The source's sweep, a full one at least every DEFAULT_FULL_SWEEP unless `full_sweep_every` says otherwise."""
    if source.options.get("full_sweep_every"):
        return Sweep.plan(source, now=now)
    return Sweep.plan(replace(source, options={**source.options, "full_sweep_every": DEFAULT_FULL_SWEEP}), now=now)


def _changed_since(page: Page, since: datetime) -> Page:
    """The page's videos modified since `since` (the listing is newest first); no next page past the first older one."""
    changed = []
    for video in page.items:
        try:
            modified = _instant(video.get("modified_time")) if isinstance(video, dict) else None
        except (ValueError, OverflowError, OSError):
            modified = None  # unreadable: read it again rather than miss a change (its mapping will say more)
        if modified is not None and modified < since:
            return Page(items=changed)
        changed.append(video)
    return Page(items=changed, next_url=page.next_url)


def _texttracks(api: ApiClient, base: str, video: dict[str, Any]) -> Any:
    """The answer of `/videos/{id}/texttracks`, or what went wrong for a video gone since it was listed."""
    url = urljoin(base, f"videos/{quote(str(_video_id(video)), safe='')}/texttracks")
    try:
        return api.get(url, {"per_page": 100, "fields": TEXTTRACK_FIELDS})
    except HTTPStatusError as exc:
        if exc.status_code != 404:
            raise
        return {"error": f"Vimeo answered 404 for {url}: the video's text tracks were not read"}


SPEC = SourceKind(
    kind="vimeo",
    title="Vimeo",
    access_hint=(
        "--credential access_token (a token of the videos' owner with the public, private and video_files scopes) "
        "and --option user_id"
    ),
    summary="the videos of a Vimeo account",
    connector=VimeoConnector,
    default_url="https://api.vimeo.com/",
    options=(
        Setting("user_id", "whose videos to read (default me: the token's own account)"),
        Setting("texttracks", "false skips reading each video's captions (a call per video that has any)"),
        CONCURRENCY,
        INCREMENTAL,
        Setting(
            "full_sweep_every",
            f"how often an incremental source reads everything, to see deletions and renew Vimeo's expiring links "
            f"(default {DEFAULT_FULL_SWEEP})",
            check=parse_duration,
        ),
        TIMEOUT,
    ),
    credentials=(
        Setting(
            "access_token", "a Vimeo API access token with the public, private and video_files scopes", required=True
        ),
    ),
)


# --- mapping ------------------------------------------------------------------------------------------------------


def _instant(value: Any) -> datetime | None:
    """An instant as Vimeo writes it: ISO 8601 text, or (in some answers) epoch seconds."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        return parse_instant(value)
    raise ValueError(f"{str(value)[:40]!r} is not an instant")


def _expiry(value: Any, link: str, what: str, notes: list[str]) -> datetime | None:
    """When a link expires: Vimeo's own field (ISO text, or epoch seconds in some answers), else the link's
    `expires=` (see `link_expiry`); an unreadable field is noted, not fatal (the link still plays until then)."""
    try:
        return _instant(value) or link_expiry(link, None)
    except (ValueError, OverflowError, OSError):
        notes.append(f"{what}: the expiry {str(value)[:40]!r} is not an instant; the link's own expires= is used")
        return link_expiry(link, None)


def _file_streams(files: list[Any], notes: list[str]) -> list[Stream]:
    """Streams from `files`: its `hls` (and `dash`) entry whatever its `type` says, then the progressive files."""
    adaptive: dict[str, Stream] = {}
    renditions = []
    for entry in files:
        link = entry.get("link") if isinstance(entry, dict) else None
        if not isinstance(link, str) or not link:
            continue
        quality = str(entry.get("quality") or "").lower()
        mime = entry.get("type") if isinstance(entry.get("type"), str) else None
        kind = quality if quality in ("hls", "dash") else stream_type(mime, link)
        expires = _expiry(entry.get("link_expiration_time"), link, f"files ({quality or kind})", notes)
        if kind in ("hls", "dash"):
            mime = HLS_MIME if kind == "hls" else DASH_MIME
            adaptive.setdefault(kind, Stream(url=link, type=kind, mime=mime, expires=expires))
        elif kind in ("mp4", "webm") and quality != "source":  # the uploaded original is no rendition
            renditions.append(
                Stream(link, kind, mime, width=entry.get("width"), height=entry.get("height"), expires=expires)
            )
    return [*adaptive.values(), *renditions]


def _play_streams(play: dict[str, Any], notes: list[str]) -> list[Stream]:
    """Streams from `play`, whose links expire (`link_expiration_time`): used only for a video without `files`."""
    streams = []
    for kind, mime in (("hls", HLS_MIME), ("dash", DASH_MIME)):
        entry = play.get(kind)
        if isinstance(entry, dict) and isinstance(entry.get("link"), str) and entry["link"]:
            link = entry["link"]
            expires = _expiry(entry.get("link_expiration_time"), link, f"play.{kind}", notes)
            streams.append(Stream(url=link, type=kind, mime=mime, expires=expires))
    progressive = play.get("progressive")
    for entry in progressive if isinstance(progressive, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("link"), str) and entry["link"]:
            link = entry["link"]
            expires = _expiry(entry.get("link_expiration_time"), link, "play.progressive", notes)
            streams.append(
                Stream(link, "mp4", "video/mp4", width=entry.get("width"), height=entry.get("height"), expires=expires)
            )
    return streams


def _streams(video: dict[str, Any], notes: list[str]) -> list[Stream]:
    files = video.get("files")
    streams = _file_streams(files, notes) if isinstance(files, list) else []
    play = video.get("play")
    if not streams and isinstance(play, dict):
        streams = _play_streams(play, notes)
    return mark_default(streams)


def _subtitles(video: dict[str, Any], notes: list[str]) -> list[Subtitle]:
    """Active captions and subtitles of `/videos/{id}/texttracks` (chapters and descriptions are no subtitles)."""
    answer = video.get("texttracks")
    if answer is None:
        return []
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        notes.append(answer["error"])
        return []
    tracks = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(tracks, list):
        notes.append("Vimeo's texttracks answer holds no list of text tracks: the captions were not read")
        return []
    subtitles = []
    for n, track in enumerate(tracks):
        if not isinstance(track, dict) or track.get("active") is False:
            continue
        if track.get("type") not in (None, "captions", "subtitles"):
            continue
        link = track.get("link")
        if not isinstance(link, str) or not link.strip():
            notes.append(f"text track {n} ({track.get('uri') or 'no uri'}) has no link: not read")
            continue
        language, name = track.get("language"), track.get("name") or track.get("display_language")
        subtitles.append(
            Subtitle(
                url=link,
                language=language if isinstance(language, str) and language.strip() else None,
                label=name if isinstance(name, str) and name.strip() else None,
                expires=_expiry(track.get("link_expires_time"), link, f"text track {n}", notes),
            )
        )
    return subtitles


def _withheld(video: dict[str, Any]) -> str | None:
    """Why Vimeo does not publish the video to everyone: not available yet (or failed), or private."""
    status = video.get("status")
    if status is not None and status != "available":
        if status in NOT_READY:
            return f"the video is not available on Vimeo yet (status {status})"
        return f"Vimeo cannot play the video (status {status!s:.40})"
    view = (video.get("privacy") or {}).get("view") if isinstance(video.get("privacy"), dict) else None
    if view in PRIVATE_VIEWS:
        return f"the video is private on Vimeo: {PRIVATE_VIEWS[view]} (privacy.view {view})"
    return None


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
    notes: list[str] = []
    if _lacks_links(video):
        notes.append(f"Vimeo returned no file links for this video, so it has no streams: {SCOPE_ADVICE}")
    view = (video.get("privacy") or {}).get("view") if isinstance(video.get("privacy"), dict) else None
    if view is not None and view not in PRIVATE_VIEWS and view not in PUBLIC_VIEWS:
        notes.append(f"privacy.view {view!s:.40} is not one Vimeo documents: imported as published")
    subtitles = _subtitles(video, notes)
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
        editions=[Edition(name="full", streams=_streams(video, notes), subtitles=subtitles)],
        custom=custom,
        notes=notes,
        unpublished=_withheld(video),
    )
