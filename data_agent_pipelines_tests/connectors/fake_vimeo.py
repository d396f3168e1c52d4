"""A fake Vimeo API, written from its public documentation.

- `GET /me/videos` and `GET /users/{user_id}/videos`: `Authorization: bearer TOKEN` (else 401 with `{"error"}`),
  `page` (from 1), `per_page` (at most 100, else 400), `fields` (comma-separated, dotted for nested keys: only those
  are returned); answers `{"total", "page", "per_page", "paging": {"next", "previous", "first", "last"}, "data"}`
  with relative paging links that keep the query.
- Rate limits: `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (an ISO-8601 instant); 429 past it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from .apiserver import Faults, Reply, Request


def vimeo_video(number: int, **fields: Any) -> dict[str, Any]:
    return {
        "uri": f"/videos/{number}",
        "name": f"Video {number}",
        "description": None,
        "duration": 125,
        "created_time": "2024-03-01T10:00:00+00:00",
        "modified_time": "2024-03-02T10:00:00+00:00",
        "release_time": "2024-03-01T10:00:00+00:00",
        "link": f"https://vimeo.com/{number}",
        "language": None,
        "privacy": {"view": "anybody"},
        "stats": {"plays": 12},
        "pictures": {"sizes": [{"width": 640, "height": 360, "link": f"https://i.vimeocdn.example/{number}_640.jpg"}]},
        "tags": [],
        "categories": [],
        "content_rating": ["safe"],
        **fields,
    }


def _trim(value: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        head, _, rest = name.partition(".")
        if head not in value:
            continue
        if rest and isinstance(value[head], list):
            out[head] = [_trim(v, [rest]) for v in value[head]]
        elif rest and isinstance(value[head], dict):
            out[head] = _trim(value[head], [rest])
        else:
            out[head] = value[head]
    return out


class FakeVimeo:
    def __init__(self, token: str, user: str, videos: list[dict[str, Any]]) -> None:
        self.token, self.user, self.videos = token, user, videos
        self.remaining: int | None = None
        self.reset = "2026-11-01T12:01:00+00:00"
        self.faults = Faults()

    def __call__(self, request: Request) -> Reply:
        fault = self.faults.take(request)
        if fault is not None:
            return fault
        if request.headers.get("authorization") != f"bearer {self.token}":
            return Reply({"error": "You must provide a valid authenticated access token."}, 401)
        if not request.headers.get("accept", "").startswith("application/vnd.vimeo.*+json;version=3.4"):
            return Reply({"error": "Unsupported API version"}, 400)
        if request.path not in ("/me/videos", f"/users/{self.user}/videos"):
            return Reply({"error": "The requested user could not be found"}, 404)
        headers = {"X-RateLimit-Limit": "250", "X-RateLimit-Reset": self.reset}
        if self.remaining is not None:
            if self.remaining <= 0:
                return Reply({"error": "Too many API requests."}, 429, headers | {"X-RateLimit-Remaining": "0"})
            self.remaining -= 1
            headers["X-RateLimit-Remaining"] = str(self.remaining)
        per_page = int(request.query.get("per_page", 25))
        if per_page > 100:
            return Reply({"error": "per_page must be 100 or less"}, 400)
        page = int(request.query.get("page", 1))
        chunk = self.videos[(page - 1) * per_page : page * per_page]
        fields = request.query.get("fields")
        if fields:
            chunk = [_trim(v, fields.split(",")) for v in chunk]
        last = max(1, -(-len(self.videos) // per_page))

        def link(n: int) -> str:
            return request.path + "?" + urlencode({**request.query, "page": n})

        return Reply(
            {
                "total": len(self.videos),
                "page": page,
                "per_page": per_page,
                "paging": {
                    "next": link(page + 1) if page < last else None,
                    "previous": link(page - 1) if page > 1 else None,
                    "first": link(1),
                    "last": link(last),
                },
                "data": chunk,
            },
            headers=headers,
        )
