"""A fake Brightcove OAuth API and CMS API, written from their public documentation.

- `POST /v4/access_token`: HTTP Basic `client_id:client_secret`, form body `grant_type=client_credentials`; answers
  `{"access_token", "token_type": "Bearer", "expires_in": 300}`. A token is refused (401) once it is 300 s old.
- `GET /v1/accounts/{account_id}/counts/videos` -> `{"count": N}`; `GET …/videos` with `limit` (at most 100,
  else 400), `offset`, `sort` and `q` (`updated_at:FROM..`); `GET …/videos/{id}/sources`: the documented list of
  source objects (`src`, `type`, `container`, `encoding_rate`…, `key_systems` for DRM), their links signed with a
  fresh `fastly_token` at every call when `token_expiry` is set.
- Videos carry `state` (ACTIVE, INACTIVE, PENDING, DELETED) and `playback_rights_id` as the CMS API gives them.
- Errors are JSON arrays `[{"error_code", "message"}]`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from .apiserver import Faults, Reply, Request

LIFETIME = 300


def video(video_id: str, created_at: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": video_id,
        "account_id": "1001",
        "name": f"Video {video_id}",
        "description": None,
        "long_description": None,
        "reference_id": None,
        "created_at": created_at,
        "updated_at": fields.pop("updated_at", created_at),
        "published_at": created_at,
        "duration": 61_499,
        "state": "ACTIVE",
        "tags": [],
        "custom_fields": {},
        "schedule": None,
        "images": {},
        "text_tracks": [],
        "geo": None,
        "playback_rights_id": None,
        **fields,
    }


def fastly_token(expires_at: int, signature: str) -> str:
    """A token as Brightcove's manifests carry it: base64 of `<expiry, hex epoch seconds>_<hmac>`."""
    return base64.b64encode(f"{expires_at:x}_{signature}".encode()).decode()


def sources_of(video_id: str, token: str | None = None, drm: bool = False) -> list[dict[str, Any]]:
    """The `videos/{id}/sources` answer: HLS (http and https), an MP4 rendition and an RTMP-only one; with `drm`,
    a Widevine/PlayReady DASH manifest and a FairPlay HLS one as Dynamic Delivery lists them. With `token`, every
    https link is signed as Brightcove signs them (`?fastly_token=`)."""
    signed = f"?fastly_token={quote(token)}" if token else ""
    sources: list[dict[str, Any]] = [
        {"type": "application/x-mpegURL", "src": f"http://bcbolt.example/{video_id}/master.m3u8"},
        {
            "codecs": "avc1,mp4a",
            "ext_x_version": "4",
            "type": "application/x-mpegURL",
            "src": f"https://bcbolt.example/{video_id}/master.m3u8{signed}",
        },
        {
            "avg_bitrate": 1_480_221,
            "codec": "H264",
            "container": "MP4",
            "duration": 61_499,
            "encoding_rate": 1_500_000,
            "width": 1280,
            "height": 720,
            "size": 11_378_262,
            "src": f"https://bcbolt.example/{video_id}/720.mp4{signed}",
        },
        {"container": "MP4", "stream_name": "mp4:rtmp-only", "app_name": "rtmp://cp1.example/ondemand"},
    ]
    if drm:
        license_base = f"https://bcbolt.example/license/v1/{video_id}"
        sources += [
            {
                "codecs": "avc1,mp4a",
                "type": "application/dash+xml",
                "src": f"https://bcbolt.example/{video_id}/cenc/manifest.mpd{signed}",
                "key_systems": {
                    "com.widevine.alpha": {"license_url": f"{license_base}/widevine"},
                    "com.microsoft.playready": {"license_url": f"{license_base}/playready"},
                },
            },
            {
                "type": "application/x-mpegURL",
                "src": f"https://bcbolt.example/{video_id}/fairplay/master.m3u8{signed}",
                "key_systems": {
                    "com.apple.fps.1_0": {
                        "key_request_url": f"{license_base}/fairplay",
                        "certificate_url": f"{license_base}/fairplay_cert",
                    }
                },
            },
        ]
    return sources


class FakeBrightcove:
    def __init__(
        self, client_id: str, client_secret: str, account: str, videos: list[dict[str, Any]], clock: Callable[[], float]
    ) -> None:
        self.client_id, self.client_secret, self.account = client_id, client_secret, account
        self.videos = videos
        self.clock = clock
        self.tokens: dict[str, float] = {}  # token -> issued at
        self.refused = 0
        self.faults = Faults()
        self.token_expiry: int | None = None  # epoch seconds: links are signed with this expiry (a new hmac per call)
        self.drm: set[str] = set()  # ids of videos packaged with DRM
        self.sources: dict[str, Any] = {}  # an answer to give for a video's sources instead of the documented one
        self._signatures = 0

    def __call__(self, request: Request) -> Reply:
        fault = self.faults.take(request)
        if fault is not None:
            return fault
        if request.path == "/v4/access_token":
            return self._token(request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        issued = self.tokens.get(token)
        if issued is None or self.clock() - issued >= LIFETIME:
            self.refused += 1
            return Reply([{"error_code": "UNAUTHORIZED", "message": "Permission denied."}], 401)
        prefix = f"/v1/accounts/{self.account}/"
        rest = request.path.removeprefix(prefix)
        if rest == "counts/videos":
            return Reply({"count": len(self._matching(request))})
        if rest == "videos":
            limit = int(request.query.get("limit", 20))
            if limit > 100:
                return Reply([{"error_code": "ILLEGAL_QUERY", "message": "limit must be 100 or less"}], 400)
            offset = int(request.query.get("offset", 0))
            return Reply(self._matching(request)[offset : offset + limit])
        if rest.startswith("videos/") and rest.endswith("/sources"):
            video_id = rest.split("/")[1]
            if video_id in self.sources:
                return Reply(self.sources[video_id])
            token = None
            if self.token_expiry is not None:
                self._signatures += 1
                token = fastly_token(self.token_expiry, f"{self._signatures:064x}")
            return Reply(sources_of(video_id, token, drm=video_id in self.drm))
        return Reply([{"error_code": "RESOURCE_NOT_FOUND"}], 404)

    def _token(self, request: Request) -> Reply:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return Reply({"error": "invalid_client", "error_description": "The client credentials are invalid"}, 401)
        if request.form().get("grant_type") != "client_credentials":
            return Reply({"error": "unsupported_grant_type"}, 400)
        token = f"tok-{len(self.tokens) + 1}"
        self.tokens[token] = self.clock()
        return Reply({"access_token": token, "token_type": "Bearer", "expires_in": LIFETIME})

    def _matching(self, request: Request) -> list[dict[str, Any]]:
        found = list(self.videos)
        q = request.query.get("q", "")
        if q.startswith("updated_at:") and q.endswith(".."):
            since = q.removeprefix("updated_at:").removesuffix("..")
            found = [v for v in found if v["updated_at"] >= since]
        if request.query.get("sort") == "created_at":
            found.sort(key=lambda v: v["created_at"])
        return found
