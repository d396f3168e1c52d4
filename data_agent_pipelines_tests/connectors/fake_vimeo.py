"""A fake Vimeo API, written from its public documentation and real answers in public client code.

- `GET /me/videos` and `GET /users/{user_id}/videos`: `Authorization: bearer TOKEN` (else 401 with `{"error"}`),
  `page` (from 1), `per_page` (at most 100, else 400), `fields` (comma-separated, dotted for nested keys: only those
  are returned), `sort` (`date`, the default, or `modified_time`) with `direction` (`asc` / `desc`); answers
  `{"total", "page", "per_page", "paging": {"next", "previous", "first", "last"}, "data"}` with relative paging links
  that keep the query.
- `files`, `play` and `download` are left out of every video unless the token has the `video_files` scope (help
  article "About video file download links from the API": public, private and video_files are needed).
- `GET /videos/{id}/texttracks`: `{"total", "data": [{"uri", "active", "type", "language", "display_language",
  "id", "link", "link_expires_time", "name"}]}`, the link signed with `expires` and `sig` (404 for an unknown video).
- Rate limits: `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (an ISO-8601 instant); 429 past it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from .apiserver import Faults, Reply, Request

FILE_LINK_KEYS = ("files", "play", "download")


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
        "status": "available",
        "privacy": {"view": "anybody", "embed": "public", "download": True, "add": True, "comments": "anybody"},
        "stats": {"plays": 12},
        "pictures": {"sizes": [{"width": 640, "height": 360, "link": f"https://i.vimeocdn.example/{number}_640.jpg"}]},
        "tags": [],
        "categories": [],
        "content_rating": ["safe"],
        "metadata": {
            "connections": {
                "texttracks": {"uri": f"/videos/{number}/texttracks", "options": ["GET", "POST"], "total": 0}
            }
        },
        **fields,
    }


def vimeo_files(number: int) -> list[dict[str, Any]]:
    """`files` as Vimeo answers it: progressive renditions, then the HLS entry typed video/mp4 with an .m3u8 link."""
    return [
        {
            "quality": "hd",
            "type": "video/mp4",
            "width": 1920,
            "height": 1080,
            "link": f"https://player.vimeo.example/external/{number}.hd.mp4?s=9f1c&profile_id=175&oauth2_token_id=7",
            "created_time": "2024-03-01T10:05:00+00:00",
            "fps": 25,
            "size": 12018301,
            "md5": "19336d37150a645627c97638aa62f428",
        },
        {
            "quality": "sd",
            "type": "video/mp4",
            "width": 640,
            "height": 360,
            "link": f"https://player.vimeo.example/external/{number}.sd.mp4?s=4cbb&profile_id=164&oauth2_token_id=7",
            "created_time": "2024-03-01T10:04:00+00:00",
            "fps": 25,
            "size": 1132894,
            "md5": "061859de7d8e444d883773ee08fe3fd4",
        },
        {
            "quality": "hls",
            "type": "video/mp4",
            "link": f"https://player.vimeo.example/external/{number}.m3u8?s=4743&oauth2_token_id=7",
            "created_time": "2024-03-01T10:05:00+00:00",
            "fps": 25,
            "size": 12018301,
            "md5": "c2a696c996b21247ba76557484eb5b6d",
        },
    ]


def vimeo_play(number: int, expires: str) -> dict[str, Any]:
    """`play` as Vimeo answers it: links that expire (`link_expiration_time`)."""
    return {
        "progressive": [
            {
                "type": "video/mp4",
                "codec": "H264",
                "width": 1280,
                "height": 720,
                "link_expiration_time": expires,
                "link": f"https://vod-progressive.vimeo.example/{number}/720p.mp4?exp={expires}&hmac=01ab",
                "created_time": "2024-03-01T10:05:00+00:00",
                "fps": 25,
                "size": 6127613,
                "md5": "3fdba06c4c5f07f8f3c8f6ebf9d7f3fa",
                "rendition": "720p",
            }
        ],
        "hls": {
            "link_expiration_time": expires,
            "link": f"https://player.vimeo.example/play/{number}/hls.m3u8?s={number}_{expires}_5a1f",
        },
        "status": "playable",
    }


def vimeo_texttrack(number: int, track: int, language: str, name: str, epoch: int, **fields: Any) -> dict[str, Any]:
    """A text track as `/videos/{id}/texttracks` answers it, its link signed until `epoch`."""
    return {
        "uri": f"/videos/{number}/texttracks/{track}",
        "active": True,
        "type": "captions",
        "language": language,
        "display_language": name,
        "id": track,
        "link": f"https://captions.cloud.vimeo.example/captions/{track}.vtt?expires={epoch}&sig=s{epoch}",
        "link_expires_time": epoch,
        "name": name,
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
            out[head] = {**out.get(head, {}), **_trim(value[head], [rest])}
        else:
            out[head] = value[head]
    return out


class FakeVimeo:
    def __init__(self, token: str, user: str, videos: list[dict[str, Any]]) -> None:
        self.token, self.user, self.videos = token, user, videos
        self.scopes = {"public", "private", "video_files"}
        self.texttracks: dict[str, Any] = {}  # by video id: the list of tracks, or a whole answer to send as it is
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
        headers = {"X-RateLimit-Limit": "250", "X-RateLimit-Reset": self.reset}
        if self.remaining is not None:
            if self.remaining <= 0:
                return Reply({"error": "Too many API requests."}, 429, headers | {"X-RateLimit-Remaining": "0"})
            self.remaining -= 1
            headers["X-RateLimit-Remaining"] = str(self.remaining)
        if request.path.startswith("/videos/") and request.path.endswith("/texttracks"):
            return self._texttracks(request, headers)
        if request.path not in ("/me/videos", f"/users/{self.user}/videos"):
            return Reply({"error": "The requested user could not be found"}, 404)
        per_page = int(request.query.get("per_page", 25))
        if per_page > 100:
            return Reply({"error": "per_page must be 100 or less"}, 400)
        videos = [self._visible(v) for v in self.videos]
        if request.query.get("sort") == "modified_time":
            videos.sort(key=lambda v: str(v.get("modified_time")), reverse=request.query.get("direction") == "desc")
        page = int(request.query.get("page", 1))
        chunk = videos[(page - 1) * per_page : page * per_page]
        fields = request.query.get("fields")
        if fields:
            chunk = [_trim(v, fields.split(",")) for v in chunk]
        last = max(1, -(-len(videos) // per_page))

        def link(n: int) -> str:
            return request.path + "?" + urlencode({**request.query, "page": n})

        return Reply(
            {
                "total": len(videos),
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

    def _visible(self, video: dict[str, Any]) -> dict[str, Any]:
        """The video as this token sees it: without file links unless it has the video_files scope."""
        if "video_files" in self.scopes:
            return video
        return {key: value for key, value in video.items() if key not in FILE_LINK_KEYS}

    def _texttracks(self, request: Request, headers: dict[str, str]) -> Reply:
        video_id = request.path.split("/")[2]
        if video_id not in {str(v.get("uri", "")).rsplit("/", 1)[-1] for v in self.videos}:
            return Reply({"error": "The requested video couldn't be found."}, 404, headers)
        tracks = self.texttracks.get(video_id, [])
        if not isinstance(tracks, list):
            return Reply(tracks, headers=headers)  # a broken answer, as it is
        fields = request.query.get("fields")
        data = [_trim(t, fields.split(",")) if isinstance(t, dict) else t for t in tracks] if fields else tracks
        return Reply({"total": len(tracks), "data": data}, headers=headers)
