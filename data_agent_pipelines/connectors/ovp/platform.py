"""The settings of a source that reach its platform (credentials, options), read with messages that name them."""

from __future__ import annotations

from ...errors import InvalidInput
from ...model import Source
from ..spec import SourceKind


def credential(source: Source, key: str, platform: SourceKind) -> str:
    """The decrypted credential `key` of the source; InvalidInput naming the setting when it is missing."""
    value = (source.credentials.get(key) or "").strip()
    if not value:
        raise InvalidInput(
            f"this {platform.title} source has no credential {key!r}: add it with "
            f"`data-agent sources edit {source.id} --credential {key}=…`"
        )
    return value


def option(source: Source, key: str, platform: SourceKind) -> str:
    """The option `key` of the source; InvalidInput naming the setting when it is missing."""
    value = (source.options.get(key) or "").strip()
    if not value:
        raise InvalidInput(
            f"this {platform.title} source has no option {key!r}: add it with "
            f"`data-agent sources edit {source.id} --option {key}=…`"
        )
    return value


def int_option(source: Source, key: str, default: int, low: int, high: int) -> int:
    """An integer option clamped to what the platform accepts."""
    raw = source.options.get(key)
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise InvalidInput(f"invalid --option {key}={raw!r}: use a whole number from {low} to {high}") from None
    return max(low, min(high, value))


def bool_option(source: Source, key: str, default: bool = True) -> bool:
    """A yes/no option: `false`, `0` or `no` (any case) turn it off, any other value on; unset is `default`."""
    if key not in source.options:
        return default
    return source.options[key].lower() not in ("false", "0", "no")


def redact(text: str, source: Source) -> str:
    """`text` with every credential value of the source masked: platforms echo tokens in their error messages."""
    for value in source.credentials.values():
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text
