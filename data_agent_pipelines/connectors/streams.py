"""Stream values every connector builds the same way: the stream type of a URL, and which stream is the default."""

from __future__ import annotations

from ..model import Stream

_MIME_STREAM_TYPES = {
    "application/x-mpegurl": "hls",
    "application/vnd.apple.mpegurl": "hls",
    "audio/x-mpegurl": "hls",
    "audio/mpegurl": "hls",
    "application/dash+xml": "dash",
    "video/mp4": "mp4",
    "video/x-m4v": "mp4",
    "audio/mp4": "mp4",
    "audio/x-m4a": "mp4",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mpeg3": "mp3",
    "application/vnd.ms-sstr+xml": "smooth",
    "video/webm": "webm",
    "audio/webm": "webm",
}
_EXTENSION_STREAM_TYPES = {
    ".m3u8": "hls",
    ".mpd": "dash",
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".m4a": "mp4",
    ".mp3": "mp3",
    ".ism": "smooth",
    ".isml": "smooth",
    ".webm": "webm",
}


def stream_type(mime: str | None, url: str) -> str:
    """hls/dash/mp4/mp3/smooth/webm/other from the MIME type, else from the URL's extension."""
    if mime:
        known = _MIME_STREAM_TYPES.get(mime.split(";", 1)[0].strip().lower())
        if known:
            return known
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    if path.endswith("/manifest"):
        path = path[: -len("/manifest")]
    dot = path.rfind(".")
    if dot > path.rfind("/"):
        return _EXTENSION_STREAM_TYPES.get(path[dot:], "other")
    return "other"


def mark_default(streams: list[Stream]) -> list[Stream]:
    """Mark the default stream: the first adaptive one (HLS or DASH), else the first one; return `streams`."""
    if streams:
        next((s for s in streams if s.type in ("hls", "dash")), streams[0]).default = True
    return streams
