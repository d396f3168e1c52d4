"""Validation of a source's settings as a user gives them (CLI flags, API bodies): one place, one set of messages."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from . import net
from .connectors.registry import kind_names, source_kind, source_kinds
from .errors import InvalidInput
from .model import ASSET_TYPES
from .schedule import schedule_values
from .signing import SCHEMES as SIGNING_SCHEMES
from .signing import SIGNING_OPTIONS, validate_signing

TRUTH_POLICIES = ("importer", "create-only", "update-unless-edited")
ON_MISSING = ("keep", "unpublish", "delete")
DEFAULT_EVERY_SECONDS = 3600
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
MAX_NAME_CHARS = 200


@dataclass
class SourceChanges:
    """Settings given by a user; None means "not given" (keep the current value on edit, default on add)."""

    name: str | None = None
    kind: str | None = None
    url: str | None = None
    every: str | None = None
    cron: str | None = None
    truth: str | None = None
    on_missing: str | None = None
    max_removal_fraction: str | float | None = None
    asset_type: str | None = None
    sign_streams: str | None = None
    credentials: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)


def parse_pairs(pairs: Iterable[str], flag: str) -> dict[str, str]:
    """`["a=1", "b=x=y"]` -> `{"a": "1", "b": "x=y"}`; a malformed pair raises InvalidInput naming the flag."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
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


MAX_URL_CHARS = 4096
MAX_SETTING_CHARS = 4096  # one option or credential value (a PEM private key is some 1,700 characters)
MAX_SETTINGS = 50  # options, and credentials, of one source


def validate_url(url: str, what: str = "URL") -> str:
    """An absolute http(s) URL with a host; anything else raises InvalidInput."""
    url = (url or "").strip()
    if len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"invalid {what}: it is {len(url):,} characters long; the limit is {MAX_URL_CHARS:,}")
    # What urlsplit accepts is parsed again, strictly, by `refuse_unsafe_url` (net's parser) before it is stored.
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it (a port beyond 65535 raises ValueError)
    except ValueError as exc:
        raise InvalidInput(f"invalid {what} {url!r}: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput(f"invalid {what} {url!r}: only http:// and https:// URLs can be imported")
    if not parts.hostname:
        raise InvalidInput(f"invalid {what} {url!r}: it has no host name")
    if parts.username or parts.password:
        # Said without the URL: it holds a password, and this message is printed.
        raise InvalidInput(
            f"invalid {what}: it carries a user name or password; give them as --credential instead, which are"
            " stored encrypted and never shown"
        )
    if any(ch.isspace() for ch in url):
        raise InvalidInput(f"invalid {what} {url!r}: it contains white space")
    return url


def refuse_unsafe_url(url: str, allow_hosts: Iterable[str] = ()) -> None:
    """Refuse (InvalidInput) a URL the importer would refuse to fetch, as far as that can be known now.

    A literal, decimal or IPv6-mapped private address, "localhost", or a host name that resolves to a refused
    address is refused; a name that does not resolve (yet) is accepted, since `net` checks again at every fetch.
    """
    try:
        net.check_url(url, net.FetchPolicy(allow_hosts=tuple(allow_hosts)), resolve=True)
    except net.HostNotFound:
        return
    except net.UnsafeURL as exc:
        raise InvalidInput(f"refused URL {exc.url}: {exc.reason}. {exc.advice}".strip()) from None


def validate_name(name: str, what: str = "source name") -> str:
    """A name as people write it (`Acme's feed`, `Séries (FR) #2`): printable, trimmed, 1-200 characters."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise InvalidInput(
            f"invalid {what} {name[:MAX_NAME_CHARS]!r}: use 1-{MAX_NAME_CHARS} printable characters"
            " (no line breaks, tabs or control characters)"
        )
    return name


def _fraction(value: str | float) -> float:
    try:
        fraction = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"invalid --max-removal-fraction {value!r}: use a number from 0 to 1, like 0.2") from None
    if math.isnan(fraction) or not 0 <= fraction <= 1:
        raise InvalidInput(f"invalid --max-removal-fraction {value!r}: use a number from 0 to 1, like 0.2")
    return fraction


def url_options() -> tuple[str, ...]:
    """Options whose value is an address the importer calls (with the source's credentials), of any kind."""
    return tuple(dict.fromkeys(key for spec in source_kinds().values() for key in spec.url_options()))


def _check_settings(settings: dict[str, str], flag: str) -> None:
    if len(settings) > MAX_SETTINGS:
        raise InvalidInput(f"too many {flag} values ({len(settings)}); the limit is {MAX_SETTINGS}")
    for key, value in settings.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise InvalidInput(f"invalid {flag} key {str(key)[:70]!r}: use letters, digits, '_', '.' or '-'")
        if not isinstance(value, str):
            raise InvalidInput(f"invalid {flag} {key}: the value must be text")
        if len(value) > MAX_SETTING_CHARS:
            raise InvalidInput(
                f"invalid {flag} {key}: the value is {len(value):,} characters long; the limit is {MAX_SETTING_CHARS:,}"
            )
        if "\x00" in value:
            raise InvalidInput(f"invalid {flag} {key}: the value holds a NUL character")


def default_api_url(kind: str | None, options: dict[str, str]) -> str | None:
    """The API base a platform source reads when no --url is given (a Delivery API playlist has none)."""
    spec = source_kinds().get(kind or "")
    return spec.mode(options).default_url if spec else None


def validate_changes(changes: SourceChanges, *, creating: bool) -> dict[str, Any]:
    """Turn user input into catalog column values; on add, every required setting must be there."""
    values: dict[str, Any] = {}
    if creating and not changes.url and default_api_url(changes.kind, changes.options):
        changes = replace(changes, url=default_api_url(changes.kind, changes.options))
    if creating:
        for flag, given in (("--name", changes.name), ("--kind", changes.kind), ("--url", changes.url)):
            if not given:
                raise InvalidInput(f"{flag} is required to add a source")
    if changes.name is not None:
        values["name"] = validate_name(changes.name)
    if changes.kind is not None:
        values["kind"] = one_of(changes.kind, kind_names(), "kind")
    if changes.url is not None:
        values["url"] = validate_url(changes.url)
    values.update(schedule_values(changes.every, changes.cron, creating=creating, default_every=DEFAULT_EVERY_SECONDS))
    if changes.truth is not None:
        values["truth"] = one_of(changes.truth, TRUTH_POLICIES, "source-of-truth policy")
    if changes.on_missing is not None:
        values["on_missing"] = one_of(changes.on_missing, ON_MISSING, "--on-missing rule")
    if changes.max_removal_fraction is not None:
        values["max_removal_fraction"] = _fraction(changes.max_removal_fraction)
    if changes.asset_type is not None:
        values["asset_type"] = one_of(changes.asset_type, ASSET_TYPES, "asset type")
    if changes.sign_streams is not None:
        values["sign_streams"] = (
            None
            if changes.sign_streams in ("", "none")
            else one_of(changes.sign_streams, SIGNING_SCHEMES, "signing scheme")
        )
    _check_settings(changes.options, "--option")
    for key in url_options():
        if changes.options.get(key):
            validate_url(changes.options[key], f"--option {key}")
    _check_settings(changes.credentials, "--credential")
    if creating:
        values.setdefault("truth", "importer")
        values.setdefault("on_missing", "keep")
        values.setdefault("max_removal_fraction", 0.2)
        values.setdefault("asset_type", "movie")
        values.setdefault("sign_streams", None)
        validate_source(values["kind"], changes.options, changes.credentials, values["sign_streams"])
    return values


def validate_source(kind: str, options: dict[str, str], credentials: dict[str, str], sign_streams: str | None) -> None:
    """The checks of a whole source on the settings it will have: on add, and on edit with the edit merged in."""
    spec = source_kind(kind)
    known = (*spec.option_keys(), *SIGNING_OPTIONS)
    for key in options:
        if key not in known:
            raise InvalidInput(
                f"unknown --option {key!r} for a {kind} source: it takes {', '.join(known)}"
                f" (remove it with --option {key}=)"
            )
    spec.check(options, credentials)
    validate_signing(sign_streams, credentials, options)


def url_after_kind_change(current_kind: str, current_url: str, kind: str, options: dict[str, str]) -> str:
    """The URL a source keeps when an edit changes its kind without a new --url: the new platform's API base
    when it was on the old one's, else InvalidInput (a feed's URL means nothing to a platform, and back)."""
    new_default = default_api_url(kind, options)
    if new_default is not None and current_url == default_api_url(current_kind, options):
        return new_default
    raise InvalidInput(
        f"changing the kind from {current_kind} to {kind} needs the URL to read as well: give --url"
        + (f" (the {kind} API is {new_default})" if new_default else "")
    )
