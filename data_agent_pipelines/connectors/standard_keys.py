"""The standardised metadata keys OVPs carry as custom key/values, recognised wherever custom fields appear.

`description`, `title`, `short_description`, `age_rating_type` + `age_rating_value`, `crew` (`Name; Role,
Name; Role`), `genres` (comma-separated), `year`, `duration` (seconds or [HH:]MM:SS), `rating` (0-100) and
`release_date` (YYYY-MM-DD). A native field wins over a custom one: the custom value is then left in `custom`
untouched, so nothing the origin sent is lost. A recognised key that was applied leaves `custom`; a value that
cannot be read stays in `custom` and is reported as a warning.
"""

from __future__ import annotations

import re
from datetime import date

from ..model import Asset, Credit, Rating

SCORE_SCHEME = "urn:data-agent:score"  # the 0-100 `rating` key, kept apart from age ratings
_CLOCK = re.compile(r"^(?:(\d+):)?([0-5]?\d):([0-5]\d)$")
# Every key `apply_standard_keys` reads.
_KEYS = frozenset(
    (
        "title",
        "description",
        "short_description",
        "genres",
        "crew",
        "duration",
        "release_date",
        "year",
        "age_rating_value",
        "age_rating_type",
        "rating",
    )
)


def _duration(text: str) -> int | None:
    text = text.strip()
    if text.isdigit():
        return int(text)
    match = _CLOCK.match(text)
    if match:
        hours, minutes, seconds = (int(part or 0) for part in match.groups())
        return hours * 3600 + minutes * 60 + seconds
    return None


def _crew(text: str) -> list[Credit]:
    credits = []
    for entry in text.split(","):
        name, _, role = entry.partition(";")
        if name.strip():
            credits.append(Credit(name=name.strip(), role=role.strip() or None))
    return credits


def _score(text: str) -> str | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return f"{value:g}" if 0 <= value <= 100 else None


def apply_standard_keys(asset: Asset) -> list[str]:
    """Move recognised keys of `asset.custom` into empty native fields; return warnings for unreadable values."""
    custom = asset.custom
    if type(custom) is dict and _KEYS.isdisjoint(custom):
        return []  # nearly every item: none of the keys, nothing to move
    warnings: list[str] = []

    def take(key: str) -> str | None:
        value = custom.get(key)
        return value.strip() if value is not None and value.strip() else None

    def applied(*keys: str) -> None:
        for key in keys:
            custom.pop(key, None)

    for key in ("title", "description", "short_description"):
        value = take(key)
        if value is not None and not getattr(asset, key):
            setattr(asset, key, value)
            applied(key)
    genres = take("genres")
    if genres is not None and not asset.genres:
        asset.genres = [g.strip() for g in genres.split(",") if g.strip()]
        applied("genres")
    crew = take("crew")
    if crew is not None and not asset.credits:
        asset.credits = _crew(crew)
        applied("crew")
    duration = take("duration")
    if duration is not None and asset.duration is None:
        seconds = _duration(duration)
        if seconds is None:
            warnings.append(f"custom field duration={duration!r} is not seconds or [HH:]MM:SS")
        else:
            asset.duration = seconds
            applied("duration")
    released = take("release_date")
    if released is not None and asset.release_date is None:
        try:
            asset.release_date = date.fromisoformat(released)
            applied("release_date")
        except ValueError:
            warnings.append(f"custom field release_date={released!r} is not a YYYY-MM-DD date")
    year = take("year")
    if year is not None and not re.fullmatch(r"\d{4}", year):
        warnings.append(f"custom field year={year!r} is not a four-digit year")
    age_value = take("age_rating_value")
    if age_value is not None:
        scheme = take("age_rating_type")
        if not any(r.scheme == scheme for r in asset.ratings):
            asset.ratings.append(Rating(value=age_value, scheme=scheme))
            applied("age_rating_value", "age_rating_type")
    score = take("rating")
    if score is not None and not any(r.scheme == SCORE_SCHEME for r in asset.ratings):
        normalised = _score(score)
        if normalised is None:
            warnings.append(f"custom field rating={score!r} is not a number from 0 to 100")
        else:
            asset.ratings.append(Rating(value=normalised, scheme=SCORE_SCHEME))
            applied("rating")
    return warnings
