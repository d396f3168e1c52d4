"""What every setting a user types needs, whatever it configures: KEY=VALUE pairs, a choice among names, an edit
merged into what is stored. Shared by sources and export targets, below both."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import InvalidInput

# A key of an option or credential: also what `--option` and `--credential` accept.
SETTING_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


def parse_pairs(pairs: Iterable[str], flag: str) -> dict[str, str]:
    """`["a=1", "b=x=y"]` -> `{"a": "1", "b": "x=y"}`; a malformed pair raises InvalidInput naming the flag."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not SETTING_KEY.match(key):
            raise InvalidInput(f"{flag} expects KEY=VALUE with a key of letters, digits, '_', '.' or '-'; got {pair!r}")
        result[key] = value
    return result


def merge_settings(current: dict[str, str], changes: dict[str, str]) -> dict[str, str]:
    """Credentials or options after an edit: the changes over the current ones, `KEY=` (empty) removing a key."""
    return {key: value for key, value in {**current, **changes}.items() if value}


def one_of(value: str, allowed: tuple[str, ...], what: str) -> str:
    """`value` when it is one of `allowed`; else InvalidInput naming `what` and the choices."""
    if value not in allowed:
        raise InvalidInput(f"unknown {what} {value!r}: use one of {', '.join(allowed)}")
    return value
