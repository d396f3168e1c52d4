"""A fake Mux Video API, written from Mux's public documentation ("Make API requests", the List assets reference
and its cursor pagination changelog, "Use static MP4 and M4A renditions") and the asset shape of Mux's own
client code (mux-node `Asset`, `Asset.StaticRenditions.File`, `Track`).

- HTTP Basic authentication: the access token's id as user name, its secret as password; anything else is 401
  with `{"error": {"type": "unauthorized", "messages": [...]}}`.
- `GET /video/v1/assets?limit=N` (1-100, default 25; more is 400), newest first, answers `{"data": [...],
  "next_cursor": "…" | null}`; `cursor=` continues where the cursor points. `legacy = True` answers as the API did
  before cursors: no `next_cursor` key, pages by `page` (from 1).
- An asset: `id`, `created_at` (Unix seconds as a string), `status` (`preparing`, `ready`, `errored`), `duration`
  (seconds, a float), `playback_ids[]` (`id`, `policy` `public` / `signed` / `drm`), `tracks[]` (video: `max_width`,
  `max_height`…; audio; text: `text_type`, `status`, `language_code`, `name`, `closed_captions`, `text_source`),
  `meta` (`title`, `external_id`, `creator_id`), `passthrough`, `static_renditions` (see `mp4_support_files` and
  `rendition`).
- Rate limits: `X-RateLimit-Limit` / `X-RateLimit-Remaining` on every answer, 429 past the quota.
"""

from __future__ import annotations

import base64
from typing import Any

from .apiserver import Faults, Reply, Request


def mux_asset(number: int, created_at: int, **fields: Any) -> dict[str, Any]:
    """A ready asset with one public playback id, as the list endpoint returns it."""
    return {
        "id": f"a{number:03}Mux00AssetId",
        "created_at": str(created_at),
        "status": "ready",
        "duration": 23.857167,
        "max_stored_resolution": "HD",
        "resolution_tier": "1080p",
        "max_resolution_tier": "1080p",
        "encoding_tier": "baseline",
        "video_quality": "basic",
        "max_stored_frame_rate": 29.97,
        "aspect_ratio": "16:9",
        "mp4_support": "none",
        "master_access": "none",
        "ingest_type": "on_demand_url",
        "progress": {"state": "completed", "progress": 100},
        "playback_ids": [{"policy": "public", "id": f"p{number:03}PlayBackId"}],
        "tracks": [
            {
                "type": "video",
                "max_width": 1920,
                "max_height": 1080,
                "max_frame_rate": 29.97,
                "id": f"v{number:03}VideoTrack",
                "duration": 23.8238,
            },
            {
                "type": "audio",
                "max_channels": 2,
                "id": f"s{number:03}AudioTrack",
                "duration": 23.823792,
                "primary": True,
                "language_code": "en",
                "name": "English",
            },
        ],
        "meta": {"title": f"Film {number}", "external_id": f"ext-{number}"},
        **fields,
    }


def text_track(track_id: str, language_code: str, name: str, **fields: Any) -> dict[str, Any]:
    """A subtitles text track as Mux lists it among an asset's tracks."""
    return {
        "type": "text",
        "text_type": "subtitles",
        "text_source": "uploaded",
        "status": "ready",
        "id": track_id,
        "language_code": language_code,
        "name": name,
        "closed_captions": False,
        **fields,
    }


def mp4_support_files(status: str = "ready") -> dict[str, Any]:
    """`static_renditions` of the deprecated `mp4_support: standard`: one status for all, files by name only."""
    return {
        "status": status,
        "files": [
            {"name": "low.mp4", "ext": "mp4", "height": 360, "width": 640, "bitrate": 800_000, "filesize": "2400000"},
            {"name": "medium.mp4", "ext": "mp4", "height": 720, "width": 1280, "bitrate": 2_000_000},
            {"name": "high.mp4", "ext": "mp4", "height": 1080, "width": 1920, "bitrate": 5_500_000},
        ],
    }


def rendition(resolution: str, status: str = "ready", **fields: Any) -> dict[str, Any]:
    """One static rendition of the Static Renditions API, each with its own id, type and status."""
    name = "audio.m4a" if resolution == "audio-only" else f"{resolution}.mp4"
    entry: dict[str, Any] = {
        "id": f"sr-{resolution}",
        "type": "standard" if resolution in ("highest", "audio-only") else "advanced",
        "status": status,
        "resolution": resolution,
        "name": name,
        "ext": "m4a" if resolution == "audio-only" else "mp4",
    }
    if status == "ready" and resolution != "audio-only":
        height = 1080 if resolution == "highest" else int(resolution.rstrip("p"))
        entry |= {"height": height, "width": height * 16 // 9, "bitrate": height * 4_000, "filesize": "1000000"}
    elif status == "ready":
        entry |= {"bitrate": 128_000, "filesize": "300000"}
    return entry | fields


class FakeMux:
    def __init__(self, token_id: str, token_secret: str, assets: list[dict[str, Any]]) -> None:
        self.token_id = token_id
        self.token_secret = token_secret
        self.assets = assets
        self.legacy = False  # answer as before cursor pagination: no next_cursor, `page` numbers
        self.repeat_cursor = False  # a broken platform whose next_cursor always points at the first page
        self.quota: int | None = None  # calls left in the current second; None: unlimited
        self.faults = Faults()

    def __call__(self, request: Request) -> Reply:
        fault = self.faults.take(request)
        if fault is not None:
            return fault
        expected = base64.b64encode(f"{self.token_id}:{self.token_secret}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return Reply({"error": {"type": "unauthorized", "messages": ["Unauthorized request"]}}, 401)
        headers = {"X-RateLimit-Limit": "5"}
        if self.quota is not None:
            if self.quota <= 0:
                return Reply(
                    {"error": {"type": "too_many_requests", "messages": ["Too many requests"]}},
                    429,
                    headers | {"X-RateLimit-Remaining": "0"},
                )
            self.quota -= 1
            headers["X-RateLimit-Remaining"] = str(self.quota)
        if request.path != "/video/v1/assets":
            return Reply({"error": {"type": "not_found", "messages": ["Not found"]}}, 404, headers)
        limit = int(request.query.get("limit", 25))
        if not 1 <= limit <= 100:
            return Reply({"error": {"type": "invalid_parameters", "messages": ["limit is invalid"]}}, 400, headers)
        return Reply(self._list(request, limit), headers=headers)

    def _list(self, request: Request, limit: int) -> dict[str, Any]:
        newest_first = sorted(self.assets, key=lambda a: (-_seconds(a.get("created_at")), str(a.get("id"))))
        if self.legacy:
            start = (int(request.query.get("page", 1)) - 1) * limit
            return {"data": newest_first[start : start + limit]}
        cursor = request.query.get("cursor")
        start = int(base64.urlsafe_b64decode(cursor).decode()) if cursor else 0
        end = start + limit
        following = None
        if end < len(newest_first):
            following = base64.urlsafe_b64encode(str(0 if self.repeat_cursor else end).encode()).decode()
        return {"data": newest_first[start:end], "next_cursor": following}


def _seconds(value: Any) -> float:
    """The Unix seconds of `created_at` to sort by; a value that names none sorts as the oldest."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
