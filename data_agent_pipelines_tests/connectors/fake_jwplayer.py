"""A fake JW Player Management API v2, written from its public documentation.

- Bearer authentication with the property's v2 API secret; anything else is 401.
- `GET /v2/sites/{site_id}/media/` with `page` (1-based), `page_length` (default 10), `sort` (`created:asc`) and
  `q` (`field:[FROM TO *]` ranges joined by `AND`); answers `{"media", "page", "page_length", "total"}`. Only
  the first 10,000 results of a query can be paged to (`cap`).
- `GET /v2/sites/{site_id}/media/{id}/media_renditions/`.
- `GET /v2/sites/{site_id}/media/{id}/text_tracks/`: `{"text_tracks", "page", "page_length", "total"}`, each track
  `{"id", "type": "text_track", "created", "last_modified", "status", "track_kind", "delivery_url",
  "metadata": {"label", "srclang"}}` (the reference pages show no sample: see `text_track`).
- 60 requests a minute: `jw-request-limit` / `jw-request-remaining` headers, 429 past the quota.
"""

from __future__ import annotations

import re
from typing import Any

from .apiserver import Faults, Reply, Request

RANGE = re.compile(r"(\w+):\[(.+?) TO \*\]")


def media(media_id: str, created: str, **metadata: Any) -> dict[str, Any]:
    """A media item as the list endpoint returns it."""
    return {
        "id": media_id,
        "type": "media",
        "created": created,
        "last_modified": metadata.pop("last_modified", created),
        "duration": metadata.pop("duration", 61.4),
        "status": "ready",
        "media_type": "video",
        "metadata": {
            "title": f"Title {media_id}",
            "description": None,
            "tags": [],
            "custom_params": {},
            "publish_start_date": created,
            "publish_end_date": None,
            **metadata,
        },
    }


def text_track(track_id: str, label: str, srclang: str | None, **fields: Any) -> dict[str, Any]:
    """A text track of the Management API v2 as this fake answers it (placement of kind and label unverified)."""
    return {
        "id": track_id,
        "type": "text_track",
        "created": "2024-01-02T00:00:00+00:00",
        "last_modified": "2024-01-02T00:00:00+00:00",
        "status": "ready",
        "track_kind": "captions",
        "delivery_url": f"https://cdn.jwplayer.com/tracks/{track_id}.vtt",
        "metadata": {"label": label, "srclang": srclang},
        **fields,
    }


class FakeJWPlayer:
    def __init__(self, secret: str, site_id: str, items: list[dict[str, Any]], *, cap: int = 10_000) -> None:
        self.secret = secret
        self.site_id = site_id
        self.items = items
        self.cap = cap
        self.quota: int | None = None  # requests left in this minute; None: unlimited
        self.ignore_page = False  # a broken platform that always answers page 1
        self.text_tracks: dict[str, Any] = {}  # by media id: the tracks, or a whole answer to send as it is
        self.faults = Faults()

    def __call__(self, request: Request) -> Reply:
        fault = self.faults.take(request)
        if fault is not None:
            return fault
        if request.headers.get("authorization") != f"Bearer {self.secret}":
            return Reply({"errors": [{"code": "unauthorized", "description": "Invalid API credentials"}]}, 401)
        headers = {"jw-request-limit": "60"}
        if self.quota is not None:
            if self.quota <= 0:
                return Reply({"errors": [{"code": "too_many_requests"}]}, 429, headers | {"jw-request-remaining": "0"})
            self.quota -= 1
            headers["jw-request-remaining"] = str(self.quota)
        prefix = f"/v2/sites/{self.site_id}/media/"
        if request.path == prefix:
            return Reply(self._list(request), headers=headers)
        if request.path.startswith(prefix) and request.path.endswith("/media_renditions/"):
            media_id = request.path[len(prefix) :].split("/")[0]
            renditions = [
                {
                    "id": f"{media_id}-r{height}",
                    "type": "media",
                    "media_type": "video",
                    "delivery_url": f"https://cdn.jwplayer.com/videos/{media_id}-r{height}.mp4",
                    "height": height,
                    "width": height * 16 // 9,
                    "file_size": 1000,
                }
                for height in (360, 720)
            ]
            return Reply({"media_renditions": renditions, "page": 1, "page_length": 10, "total": 2}, headers=headers)
        if request.path.startswith(prefix) and request.path.endswith("/text_tracks/"):
            media_id = request.path[len(prefix) :].split("/")[0]
            if media_id not in {i["id"] for i in self.items}:
                return Reply({"errors": [{"code": "not_found"}]}, 404, headers)
            tracks = self.text_tracks.get(media_id, [])
            if not isinstance(tracks, list):
                return Reply(tracks, headers=headers)
            return Reply({"text_tracks": tracks, "page": 1, "page_length": 100, "total": len(tracks)}, headers=headers)
        return Reply({"errors": [{"code": "not_found"}]}, 404)

    def _list(self, request: Request) -> dict[str, Any]:
        found = list(self.items)
        for name, low in RANGE.findall(request.query.get("q", "")):
            found = [i for i in found if str(i[name]) >= low]
        if request.query.get("sort") == "created:asc":
            found.sort(key=lambda i: (i["created"], i["id"]))
        page = 1 if self.ignore_page else int(request.query.get("page", 1))
        length = int(request.query.get("page_length", 10))
        start = (page - 1) * length
        if start + length > self.cap and start >= self.cap:
            return {"media": [], "page": page, "page_length": length, "total": len(found)}
        chunk = found[start : min(start + length, self.cap)]
        return {"media": chunk, "page": page, "page_length": length, "total": len(found)}
