"""Validation of a source's settings as a user gives them (CLI flags, API bodies): one place, one set of messages."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from . import net
from .errors import InvalidInput
from .model import ASSET_TYPES
from .schedule import parse_duration, schedule_values
from .signing import SCHEMES as SIGNING_SCHEMES
from .signing import validate_signing

KINDS = ("mrss", "backstage-json", "jwplayer", "brightcove", "kaltura", "vimeo")
TRUTH_POLICIES = ("importer", "create-only", "update-unless-edited")
ON_MISSING = ("keep", "unpublish", "delete")
DEFAULT_EVERY_SECONDS = 3600
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,199}$")


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
    name = (name or "").strip()
    if not _NAME.match(name):
        raise InvalidInput(
            f"invalid {what} {name!r}: use 1-200 letters, digits, spaces, '.', '_' or '-',"
            " starting with a letter or digit"
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


# Options whose value is an address the importer calls (with the source's credentials).
URL_OPTIONS = ("oauth_url",)


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


def _options(options: dict[str, str]) -> dict[str, str]:
    _check_settings(options, "--option")
    timeout = options.get("timeout")
    if timeout:
        try:
            seconds = float(timeout)
        except ValueError:
            seconds = -1
        if not 0 < seconds <= 3600:
            raise InvalidInput(f"invalid --option timeout={timeout!r}: use a number of seconds from 1 to 3600")
    for key in URL_OPTIONS:
        if options.get(key):
            validate_url(options[key], f"--option {key}")
    return options


# API bases of the online video platforms, used when `sources add` gets no --url.
DEFAULT_API_URLS = {
    "jwplayer": "https://api.jwplayer.com/v2/",
    "brightcove": "https://cms.api.brightcove.com/v1/",
    "kaltura": "https://www.kaltura.com/",
    "vimeo": "https://api.vimeo.com/",
}
# What each platform kind cannot be imported without: (options, credentials), each with what it is.
_PLATFORM_NEEDS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "jwplayer": ({"site_id": "the property ID"}, {"api_secret": "a Management API v2 secret of the property"}),
    "brightcove": (
        {"account_id": "the Video Cloud account ID"},
        {"client_id": "the API credential's client ID", "client_secret": "its client secret"},
    ),
    "kaltura": ({"partner_id": "the partner ID"}, {}),
    "vimeo": ({}, {"access_token": "a Vimeo API access token"}),
}


def default_api_url(kind: str | None, options: dict[str, str]) -> str | None:
    """The API base a platform source reads when no --url is given (a Delivery API playlist has none)."""
    if kind == "jwplayer" and options.get("api") == "delivery":
        return None
    return DEFAULT_API_URLS.get(kind or "")


def validate_platform_settings(kind: str, options: dict[str, str], credentials: dict[str, str]) -> None:
    """The options and credentials a platform kind cannot be imported without, named in the message."""
    if kind == "jwplayer" and options.get("api", "management") not in ("management", "delivery"):
        raise InvalidInput(f"invalid --option api={options['api']!r}: use management (default) or delivery")
    if kind not in _PLATFORM_NEEDS or (kind == "jwplayer" and options.get("api") == "delivery"):
        return
    needed_options, needed_credentials = _PLATFORM_NEEDS[kind]
    missing = [f"--option {k}=… ({what})" for k, what in needed_options.items() if not options.get(k)]
    missing += [f"--credential {k}=… ({what})" for k, what in needed_credentials.items() if not credentials.get(k)]
    if kind == "kaltura" and not (credentials.get("admin_secret") or credentials.get("ks")):
        missing.append("--credential admin_secret=… (the partner's admin secret) or --credential ks=… (a session)")
    if missing:
        hint = "; for a public Delivery API playlist give --option api=delivery instead" if kind == "jwplayer" else ""
        raise InvalidInput(f"a {kind} source needs {', '.join(missing)}{hint}")
    if options.get("full_sweep_every"):
        parse_duration(options["full_sweep_every"])


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
        values["kind"] = one_of(changes.kind, KINDS, "kind")
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
    _options(changes.options)
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
    validate_platform_settings(kind, options, credentials)
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
