"""Value parsers of the Media RSS mapping: numbers, durations, dates, availability periods, geoblocks, ratings.

Each takes the text a feed gave (or None) and returns a model value, or None when the text says nothing usable:
an unparseable optional value is dropped, never an error. The exception is the geoblock, where a wrong answer is
worse than none: it raises ItemError, which fails the item.
"""

from __future__ import annotations

import email.utils
import math
import re
from datetime import UTC, datetime
from typing import Any

from ...model import Availability, Geoblock, Rating

EXPLICIT_SCHEME = "urn:itunes:explicit"


class ItemError(ValueError):
    """An item value that makes the item unusable; the message is the failure reason."""


# What a text was read as, for the value parsers below: feeds repeat the same few texts (widths, bitrates,
# availability windows) item after item. Each cache is bounded by emptying it when full, and only short texts are
# kept (a hostile feed's megabyte-long attributes must not pile up).
_CACHE_SIZE = 4096
_CACHED_TEXT_CHARS = 256
_MISSING = object()
_INT_CACHE: dict[str, int | None] = {}


def _remember(cache: dict[Any, Any], key: Any, value: Any, *, keep: bool) -> None:
    """Keep `value` as what `key` was read as when `keep` (a short key), emptying `cache` first when it is full."""
    if keep:
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[key] = value


def parse_int(value: str | None) -> int | None:
    """A whole non-negative number (a fraction is cut off) from its text; None when there is none."""
    if not value:
        return None
    number = _INT_CACHE.get(value, _MISSING)
    if number is _MISSING:
        number = _read_int(value)
        _remember(_INT_CACHE, value, number, keep=len(value) <= _CACHED_TEXT_CHARS)
    return number  # type: ignore[return-value]


def _read_int(value: str) -> int | None:
    """`parse_int` of a non-empty text, uncached."""
    if value.isascii() and value.isdigit():  # the common case, without the float round trip
        return int(value)
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return int(number)


_HMS_WORDS = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?:in)?)?(?:(\d+(?:\.\d+)?)s(?:ec)?)?$")


def parse_duration(text: str | None) -> int | None:
    """Whole seconds from "SS", "MM:SS", "HH:MM:SS" (fractions allowed), "1h2m3s" or ISO "PT1H2M3S"; else None."""
    if not text:
        return None
    value = text.strip().lower()
    try:
        if ":" in value:
            parts = value.split(":")
            if len(parts) > 3:
                return None
            seconds = 0.0
            for part in parts:
                seconds = seconds * 60 + float(part)
        else:
            seconds = float(value)
    except ValueError:
        match = _HMS_WORDS.match(value.removeprefix("pt").replace(" ", ""))
        if match is None or not any(match.groups()):
            return None
        hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return int(seconds + 0.5)


_LOOSE_DATE_FORMATS = (
    "%b %d %Y %I:%M:%S %p",
    "%b %d %Y %H:%M:%S",
    "%B %d, %Y %I:%M %p",
    "%B %d, %Y",
    "%d %b %Y %H:%M:%S",
    "%d %B %Y %H:%M:%S",
    "%d %b %Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y",
)
_WEEKDAY_PREFIX = re.compile(r"^[A-Za-z]{3,9},?\s+")
_TWELVE_HOUR = re.compile(r"\d\s*[AaPp]\.?[Mm]\b")
_UTC_SUFFIX = re.compile(r"\s+(?:GMT|UTC|UT|Z)$", re.IGNORECASE)


_RFC822_GMT = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([1-9]\d{3}) "
    r"(\d\d):(\d\d):(\d\d) (?:GMT|UT|UTC|Z|\+0000)"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


_DATE_CACHE: dict[str, datetime | None] = {}


def parse_date(text: str | None) -> datetime | None:
    """An instant in UTC from RFC 822 (and common non-RFC forms) or ISO 8601; no offset means UTC; else None."""
    if not text:
        return None
    cached = _DATE_CACHE.get(text, _MISSING)
    if cached is _MISSING:
        cached = _read_date(text)
        _remember(_DATE_CACHE, text, cached, keep=len(text) <= _CACHED_TEXT_CHARS)
    return cached  # type: ignore[return-value]


def _read_date(text: str) -> datetime | None:
    """`parse_date` of a non-empty text, uncached."""
    value = text.strip()
    if not value:
        return None
    strict = _RFC822_GMT.fullmatch(value)
    if strict is not None:
        # The form nearly every feed uses, in UTC: read directly (email.utils takes several times longer).
        day, month, year, hour, minute, second = strict.groups()
        try:
            return datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=UTC)
        except ValueError:
            return None
    parsed: datetime | None = None
    if value[0].isdigit() and len(value) >= 10 and value[4] == "-":
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None and _TWELVE_HOUR.search(value):
        # email.utils would silently ignore the AM/PM marker.
        parsed = _parse_loose_date(value)
    if parsed is None:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = _parse_loose_date(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


def _parse_loose_date(value: str) -> datetime | None:
    value = _UTC_SUFFIX.sub("", _WEEKDAY_PREFIX.sub("", value)).strip()
    for fmt in _LOOSE_DATE_FORMATS:
        for candidate_fmt in (fmt, fmt + " %z"):
            try:
                return datetime.strptime(value, candidate_fmt)
            except ValueError:
                continue
    return None


_VALID_PART = re.compile(r"(\w+)\s*=\s*([^;]*)")


_PERIOD_CACHE: dict[str, tuple[datetime | None, datetime | None] | None] = {}


def parse_availability(text: str | None) -> Availability | None:
    """`start=...; end=...; scheme=W3C-DTF` (DCMI period) in any order or spacing -> Availability, or None."""
    if not text:
        return None
    period = _PERIOD_CACHE.get(text, _MISSING)
    if period is _MISSING:
        period = _read_period(text)
        _remember(_PERIOD_CACHE, text, period, keep=len(text) <= _CACHED_TEXT_CHARS)
    if period is None:
        return None
    # A new Availability every time: assets are mutable, a shared one would couple them.
    return Availability(start=period[0], end=period[1])  # type: ignore[index]


def _read_period(text: str) -> tuple[datetime | None, datetime | None] | None:
    parts = {key.lower(): value.strip() for key, value in _VALID_PART.findall(text)}
    start, end = parse_date(parts.get("start")), parse_date(parts.get("end"))
    if start is None and end is None:
        return None
    return start, end


# What `_fold_restrictions` made of a list of restrictions: (mode, countries), None, or an ItemError's message.
_GEOBLOCK_CACHE: dict[tuple[tuple[str, str], ...], tuple[str, tuple[str, ...]] | str | None] = {}


def geoblock(restrictions: list[tuple[str, str]]) -> Geoblock | None:
    """Fold (relationship, text) pairs of country restrictions into one Geoblock (deny wins over allow)."""
    if not restrictions:
        return None
    key = tuple(restrictions)
    folded = _GEOBLOCK_CACHE.get(key, _MISSING)
    if folded is _MISSING:
        try:
            block = _fold_restrictions(restrictions)
        except ItemError as exc:
            folded = str(exc)
        else:
            folded = None if block is None else (block.mode, tuple(block.countries))
        size = sum(len(relationship) + len(text) for relationship, text in key)
        _remember(_GEOBLOCK_CACHE, key, folded, keep=size <= 4 * _CACHED_TEXT_CHARS)
    if folded is None:
        return None
    if isinstance(folded, str):
        raise ItemError(folded)
    # A new Geoblock (and list) every time: assets are mutable, a shared one would couple them.
    return Geoblock(mode=folded[0], countries=list(folded[1]))  # type: ignore[index]


def _fold_restrictions(restrictions: list[tuple[str, str]]) -> Geoblock | None:
    allowed: list[str] | None = None
    denied: list[str] = []
    for relationship, text in restrictions:
        codes = text.replace(",", " ").split()
        words = {code.lower() for code in codes}
        if relationship not in ("allow", "deny"):
            raise ItemError(f"media:restriction has relationship {relationship!r}: expected allow or deny")
        if not codes or words == {"none"}:
            if relationship == "allow":
                allowed = allowed or []
            continue
        if words == {"all"}:
            if relationship == "deny":
                allowed = []
                denied = []
            continue
        bad = [code for code in codes if len(code) != 2 or not code.isascii() or not code.isalpha()]
        if bad:
            raise ItemError(f"media:restriction lists {', '.join(bad)}: expected two-letter country codes")
        target = denied if relationship == "deny" else (allowed := allowed or [])
        target.extend(code.upper() for code in codes if code.upper() not in target)
    if allowed is not None:
        return Geoblock(mode="allow", countries=[code for code in allowed if code not in denied])
    return Geoblock(mode="deny", countries=denied) if denied else None


def dedupe(values: list[str]) -> list[str]:
    """The non-empty values, each once, in order."""
    unique = dict.fromkeys(values)
    unique.pop("", None)  # the values are strings: "" is the only empty one
    return list(unique)


def explicit_rating(value: str | None) -> Rating | None:
    """The rating `itunes:explicit` says (`yes`/`true`/`explicit` or `no`/`false`/`clean`); None for other words."""
    word = (value or "").strip().lower()
    if word in ("yes", "true", "explicit"):
        return Rating(value="explicit", scheme=EXPLICIT_SCHEME)
    if word in ("no", "false", "clean"):
        return Rating(value="clean", scheme=EXPLICIT_SCHEME)
    return None
