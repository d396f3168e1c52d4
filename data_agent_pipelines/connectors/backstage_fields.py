"""The fields of a `backstage-json` object, in the documented Backstage shape or the project's own, as the asset
model's JSON form (what `model.field_from_json` reads).

Backstage documents its asset metadata (docs.backstage-api.com, DAPI "Assets / Metadata") and its editions
("Assets / Streams"); the project's own export writes the asset model as `data-agent assets show` prints it. Each
reader here takes both:

- title: `label` (documented), else `title`.
- images: `{"still": [...], "poster": [...], "background": [...]}` by role, a size being `{"url", "width",
  "height"}` or a bare URL (documented); or the model's `[{"url", "role", "width", "height"}]`.
- genres: genre references `[{"label": "Drama"}]` (documented) or names.
- credits: `crew`, person references `{"label" | "name", "role"}` (documented), or `credits` `[{"name", "role"}]`.
- geoblock: `{"allow": [...], "deny": []}` with one of them filled, never both (documented), or the model's
  single-key form.
- editions: `editionType` `full` / `trailer` (documented) or `name`; streams `url`, `type`, `drm`, `data`
  (documented) and the model's `mime`, `drm_data`, `bitrate`, `width`, `height`, `default`, `expires`; subtitles
  `url`, `language`, `label`, `forced` and the model's `expires`.

A stream type is one of `hls`, `dash`, `smoothstreaming` (stored as the catalog's `smooth`), `mp4`, `mp3` (and the
catalog's own `webm`, `other`); a missing one is read from the URL. DRM `unencrypted` is no DRM. A value that cannot
be read raises ValueError (or TypeError) naming what is wrong: the object then fails with that reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..model import whole_number
from .streams import stream_type

# Keys a reader consumed besides the model's own field names: they do not go to `custom`.
DOCUMENTED_KEYS = ("label", "crew")
STREAM_TYPES = {
    "hls": "hls",
    "dash": "dash",
    "smoothstreaming": "smooth",
    "smooth": "smooth",
    "mp4": "mp4",
    "mp3": "mp3",
    "webm": "webm",
    "other": "other",
}
DOCUMENTED_STREAM_TYPES = ("hls", "dash", "smoothstreaming", "mp4", "mp3")
DOCUMENTED_DRM = ("fairplay", "widevine", "playready")
NO_DRM = "unencrypted"
EDITION_TYPES = ("full", "trailer")
_STREAM_KEYS = frozenset(
    ("url", "type", "mime", "drm", "data", "drm_data", "bitrate", "width", "height", "default", "expires")
)
_SUBTITLE_KEYS = frozenset(("url", "language", "label", "forced", "expires"))
_NAME_KEYS = ("label", "name", "title")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be non-empty text, not {_shown(value)}")
    return value.strip()


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _name_of(reference: dict[str, Any], what: str) -> str:
    """The name a reference object gives (`label`, else `name`, else `title`)."""
    for key in _NAME_KEYS:
        if isinstance(reference.get(key), str) and reference[key].strip():
            return reference[key].strip()
    raise ValueError(f"{what} {_shown(reference)} has no label or name")


def _dimension(value: Any) -> Any:
    """A whole number where the value is one (`"720"` too); anything else as it is, for the value boundary to drop
    with a warning, as it drops any number a connector cannot read."""
    if value is None:
        return None
    try:
        return whole_number(value)
    except ValueError:
        return value


def read_title(obj: dict[str, Any]) -> Any:
    """`label` (documented), else `title`."""
    label = obj.get("label")
    return label if label is not None else obj.get("title")


def read_images(value: Any) -> list[dict[str, Any]]:
    """The documented object of image lists by role, or the model's list of images."""
    if isinstance(value, list):
        return value
    if not isinstance(value, dict):
        raise ValueError("images must be an object of image lists by role ({'poster': [...]}) or a list of images")
    images = []
    for role, sizes in value.items():
        if sizes is None:
            continue
        for size in sizes if isinstance(sizes, list) else [sizes]:
            if isinstance(size, str):
                images.append({"url": _text(size, f"an image of images.{role}"), "role": role})
            elif isinstance(size, dict):
                image = {"url": _text(size.get("url"), f"the url of an image of images.{role}"), "role": role}
                for key in ("width", "height"):
                    if size.get(key) is not None:
                        image[key] = _dimension(size[key])
                images.append(image)
            else:
                raise ValueError(f"an image of images.{role} must be an object with a url, not {_shown(size)}")
    return images


def read_genres(value: Any) -> Any:
    """Genre references (`{"label": …}`) or names; a comma-separated text is left to the model's reader."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise ValueError(f"genres must be a list, not {_shown(value)}")
    return [_name_of(g, "a genre reference") if isinstance(g, dict) else _text(g, "a genre") for g in value]


def read_credits(value: Any) -> list[dict[str, Any]]:
    """Person references (`crew`: `{"label" | "name", "role"}`, the person possibly nested as `person`) or the
    model's credits; a text entry is `Name; Role` as the standardised `crew` key writes it."""
    if not isinstance(value, list):
        raise ValueError(f"crew must be a list of person references, not {_shown(value)}")
    credits = []
    for entry in value:
        if isinstance(entry, str):
            name, _, role = entry.partition(";")
            credits.append({"name": _text(name, "a crew member"), "role": role.strip() or None})
            continue
        if not isinstance(entry, dict):
            raise ValueError(f"a crew member must be a person reference, not {_shown(entry)}")
        person = entry["person"] if isinstance(entry.get("person"), dict) else entry
        role = entry.get("role")
        if isinstance(role, dict):
            role = _name_of(role, "a crew member's role")
        elif role is not None:
            role = _text(role, "a crew member's role")
        credits.append({"name": _name_of(person, "a person reference"), "role": role})
    return credits


def read_geoblock(value: Any) -> dict[str, Any] | None:
    """`{"allow": [...], "deny": [...]}` with one of them filled (documented), or the model's single-key form.

    A single key keeps its meaning even when empty (`{"allow": []}`: allowed nowhere); of both keys, an empty one is
    not filled, and neither filled is no geoblock.
    """
    if not isinstance(value, dict):
        raise ValueError(f"geoblock must be an object with allow or deny, not {_shown(value)}")
    unknown = sorted(set(value) - {"allow", "deny"})
    if unknown:
        raise ValueError(f"geoblock has {', '.join(map(repr, unknown))}: only allow and deny are known")
    if len(value) == 1:
        return value
    filled = {mode: countries for mode, countries in value.items() if countries}
    if len(filled) > 1:
        raise ValueError("geoblock fills both allow and deny; fill one of them: countries are allowed or denied")
    return filled or None


def read_editions(value: Any, notes: list[str]) -> list[dict[str, Any]]:
    """Editions (`editionType` documented, else `name`) with their streams and subtitles in the model's form."""
    if not isinstance(value, list):
        raise ValueError(f"editions must be a list, not {_shown(value)}")
    editions = []
    for n, edition in enumerate(value):
        where = f"editions[{n}]"
        if not isinstance(edition, dict):
            raise ValueError(f"{where} must be an object, not {_shown(edition)}")
        if edition.get("editionType") is not None:
            name = _text(edition["editionType"], f"{where}.editionType").lower()
            if name not in EDITION_TYPES:
                raise ValueError(f"{where}.editionType {name!r} is not one of {', '.join(EDITION_TYPES)}")
        else:
            name = _text(edition.get("name", "full"), f"{where}.name")
        editions.append(
            {
                "name": name,
                "streams": _read_list(edition.get("streams"), f"{where}.streams", _read_stream, notes),
                "subtitles": _read_list(edition.get("subtitles"), f"{where}.subtitles", _read_subtitle, notes),
            }
        )
    return editions


def _read_list(
    value: Any, where: str, read: Callable[[Any, str, list[str]], dict[str, Any]], notes: list[str]
) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where} must be a list, not {_shown(value)}")
    return [read(entry, f"{where}[{n}]", notes) for n, entry in enumerate(value)]


def _ignored(entry: dict[str, Any], known: frozenset[str], where: str, notes: list[str]) -> None:
    unknown = sorted(str(key) for key in entry if key not in known)
    if unknown:
        notes.append(f"{where}: ignored {', '.join(map(repr, unknown[:10]))} (not a field of a stream or subtitle)")


def _read_stream(entry: Any, where: str, notes: list[str]) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ValueError(f"{where} must be an object with a url, not {_shown(entry)}")
    _ignored(entry, _STREAM_KEYS, where, notes)
    url = _text(entry.get("url"), f"{where}.url")
    mime = entry.get("mime")
    kind = entry.get("type")
    if kind is None:
        kind = stream_type(mime if isinstance(mime, str) else None, url)
    else:
        kind = STREAM_TYPES.get(_text(kind, f"{where}.type").lower())
        if kind is None:
            raise ValueError(
                f"{where}.type {entry['type']!r} is not one of {', '.join(DOCUMENTED_STREAM_TYPES)} (or other)"
            )
    drm = entry.get("drm")
    if drm is not None:
        drm = _text(drm, f"{where}.drm")
        if drm.lower() == NO_DRM:
            drm = None
        elif drm.lower() in DOCUMENTED_DRM:
            drm = drm.lower()
    data = entry.get("data", entry.get("drm_data"))
    if data is not None and not isinstance(data, dict):
        raise ValueError(f"{where}.data must be an object, not {_shown(data)}")
    default = entry.get("default", False)
    if not isinstance(default, bool):
        raise ValueError(f"{where}.default must be true or false, not {_shown(default)}")
    stream = {"url": url, "type": kind, "default": default}
    optional = {"mime": mime, "drm": drm, "drm_data": data, "expires": entry.get("expires")}
    optional |= {key: _dimension(entry.get(key)) for key in ("bitrate", "width", "height")}
    return stream | {key: value for key, value in optional.items() if value is not None}


def _read_subtitle(entry: Any, where: str, notes: list[str]) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ValueError(f"{where} must be an object with a url, not {_shown(entry)}")
    _ignored(entry, _SUBTITLE_KEYS, where, notes)
    subtitle = {"url": _text(entry.get("url"), f"{where}.url")}
    for key in ("language", "label"):
        if entry.get(key) is not None:
            subtitle[key] = _text(entry[key], f"{where}.{key}")
    forced = entry.get("forced", False)
    if not isinstance(forced, bool):
        raise ValueError(f"{where}.forced must be true or false, not {_shown(forced)}")
    if entry.get("expires") is not None:
        subtitle["expires"] = entry["expires"]
    return subtitle | {"forced": forced}


def read_field(name: str, obj: dict[str, Any], notes: list[str]) -> Any:
    """The JSON-form value of the model field `name` in `obj`, in whichever shape `obj` gives it (None: absent)."""
    if name == "title":
        return read_title(obj)
    if name == "credits":
        value = obj.get("credits")
        value = obj.get("crew") if value is None else value
        return None if value is None else read_credits(value)
    value = obj.get(name)
    if value is None:
        return None
    readers: dict[str, Callable[[Any], Any]] = {
        "images": read_images,
        "genres": read_genres,
        "geoblock": read_geoblock,
        "editions": lambda v: read_editions(v, notes),
    }
    return readers[name](value) if name in readers else value
