"""When a source runs: an interval (`5m`, `1h`, `1d`) or a cron expression, validated on input.

croniter is imported where a cron expression is read: the catalog imports this module, and a command that reads
no cron expression (`sources list`) need not pay for it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .errors import InvalidInput

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
# Longer than a year is almost certainly a typo, and shorter than a minute would hammer the origin.
MIN_INTERVAL_SECONDS = 60
MAX_INTERVAL_SECONDS = 366 * 86400


def parse_duration(text: str) -> int:
    """`5m` -> 300. Raises InvalidInput with the accepted forms."""
    match = _DURATION.match(text or "")
    if not match:
        raise InvalidInput(
            f"invalid duration {text!r}: use a number and a unit, like 30m, 1h, 1d (units s, m, h, d, w)"
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds <= 0:
        raise InvalidInput(f"invalid duration {text!r}: it must be longer than zero")
    if seconds < MIN_INTERVAL_SECONDS:
        raise InvalidInput(f"invalid duration {text!r}: the shortest interval is 1m")
    if seconds > MAX_INTERVAL_SECONDS:
        raise InvalidInput(f"invalid duration {text!r}: the longest interval is 366d")
    return seconds


def format_duration(seconds: int) -> str:
    """300 -> `5m`: the largest unit that divides the interval exactly."""
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def validate_cron(expression: str) -> str:
    """Return the expression normalised (single spaces) or raise InvalidInput."""
    normalised = " ".join((expression or "").split())
    fields = normalised.split(" ") if normalised else []
    if len(fields) != 5:
        raise InvalidInput(
            f"invalid cron expression {expression!r}: use five fields (minute hour day-of-month month day-of-week),"
            " like '*/15 * * * *'"
        )
    from croniter import CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, croniter

    try:
        croniter(normalised, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except (CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, ValueError, KeyError) as exc:
        raise InvalidInput(f"invalid cron expression {expression!r}: {exc}") from None
    return normalised


def schedule_values(
    every: str | None, cron: str | None, *, creating: bool, default_every: int
) -> dict[str, int | str | None]:
    """The `every_seconds` and `cron` columns of `--every` or `--cron` (or the default on add); {} when neither."""
    if every is not None and cron is not None:
        raise InvalidInput("give either --every or --cron, not both")
    if every is not None:
        return {"every_seconds": parse_duration(every), "cron": None}
    if cron is not None:
        return {"every_seconds": None, "cron": validate_cron(cron)}
    return {"every_seconds": default_every, "cron": None} if creating else {}


def next_run_after(moment: datetime, *, every_seconds: int | None, cron: str | None) -> datetime:
    """The first slot strictly after `moment` (UTC). Missed slots are not replayed: a late source runs once."""
    if cron:
        from croniter import croniter

        return croniter(cron, moment.astimezone(UTC)).get_next(datetime).astimezone(UTC)
    if not every_seconds:
        raise InvalidInput("a source needs an interval or a cron expression")
    return moment + timedelta(seconds=every_seconds)
