"""A source's settings as a user gives them (CLI flags, API bodies): checked in one place, with one set of messages,
then stored through the catalog (`add_source`, `edit_source`), which stores what it is given and checks nothing of
a kind: the checks read the connectors' specs, which the catalog never imports."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import net
from .catalog.store import Catalog
from .connectors.registry import kind_names, source_kind, source_kinds
from .errors import InvalidInput
from .model import ASSET_TYPES, DEFAULT_PAUSE_AFTER, Source
from .schedule import schedule_values
from .signing import SCHEMES as SIGNING_SCHEMES
from .signing import SIGNING_OPTIONS, validate_signing
from .user_input import SETTING_KEY, merge_settings, one_of

TRUTH_POLICIES = ("importer", "create-only", "update-unless-edited")
ON_MISSING = ("keep", "unpublish", "delete")
DEFAULT_EVERY_SECONDS = 3600
# The share of an import's items that may fail before the source's `failed_share` check warns.
DEFAULT_MAX_FAILED_FRACTION = 0.1
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
    max_failed_fraction: str | float | None = None
    asset_type: str | None = None
    sign_streams: str | None = None
    credentials: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    pause_after: str | int | None = None


MAX_URL_CHARS = 4096
MAX_SETTING_CHARS = 4096  # one option or credential value (a PEM private key is some 1,700 characters)
MAX_SETTINGS = 50  # options, and credentials, of one source


def validate_url(url: str, what: str = "URL", *, local_files: bool = False) -> str:
    """An absolute http(s) URL with a host, or with `local_files` a `file:///…` URL (which `net` judges when it is
    checked against the local feed folder); anything else raises InvalidInput."""
    url = (url or "").strip()
    if len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"invalid {what}: it is {len(url):,} characters long; the limit is {MAX_URL_CHARS:,}")
    if local_files and net.is_file_url(url):
        if any(ch.isspace() for ch in url):
            raise InvalidInput(f"invalid {what} {url!r}: it contains white space")
        return url
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


def refuse_unsafe_url(url: str, allow_hosts: Iterable[str] = (), feed_folder: Path | None = None) -> None:
    """Refuse (InvalidInput) a URL the importer would refuse to fetch, as far as that can be known now.

    A literal, decimal or IPv6-mapped private address, "localhost", or a host name that resolves to a refused
    address is refused; a name that does not resolve (yet) is accepted, since `net` checks again at every fetch.
    A `file:` URL is judged against `feed_folder` (None: refused); a file not there yet is accepted likewise.
    """
    try:
        net.check_url(url, net.FetchPolicy(allow_hosts=tuple(allow_hosts), feed_folder=feed_folder), resolve=True)
    except net.HostNotFound:
        return
    except net.FetchError as exc:
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


def _fraction(value: str | float, option: str, example: str) -> float:
    try:
        fraction = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"invalid {option} {value!r}: use a number from 0 to 1, like {example}") from None
    if math.isnan(fraction) or not 0 <= fraction <= 1:
        raise InvalidInput(f"invalid {option} {value!r}: use a number from 0 to 1, like {example}")
    return fraction


MAX_PAUSE_AFTER = 10_000


def _pause_after(value: str | int) -> int:
    text = str(value).strip()
    if not text.isdigit() or int(text) > MAX_PAUSE_AFTER:
        raise InvalidInput(
            f"invalid --pause-after {value!r}: give how many failed imports in a row pause the source, a whole"
            f" number from 1 to {MAX_PAUSE_AFTER:,}, or 0 never to pause it"
        )
    return int(text)


def url_options() -> tuple[str, ...]:
    """Options whose value is an address the importer calls (with the source's credentials), of any kind."""
    return tuple(dict.fromkeys(key for spec in source_kinds().values() for key in spec.url_options()))


def _check_settings(settings: dict[str, str], flag: str) -> None:
    if len(settings) > MAX_SETTINGS:
        raise InvalidInput(f"too many {flag} values ({len(settings)}); the limit is {MAX_SETTINGS}")
    for key, value in settings.items():
        if not isinstance(key, str) or not SETTING_KEY.match(key):
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
        values["url"] = validate_url(changes.url, local_files=True)
    values.update(schedule_values(changes.every, changes.cron, creating=creating, default_every=DEFAULT_EVERY_SECONDS))
    if changes.truth is not None:
        values["truth"] = one_of(changes.truth, TRUTH_POLICIES, "source-of-truth policy")
    if changes.on_missing is not None:
        values["on_missing"] = one_of(changes.on_missing, ON_MISSING, "--on-missing rule")
    if changes.max_removal_fraction is not None:
        values["max_removal_fraction"] = _fraction(changes.max_removal_fraction, "--max-removal-fraction", "0.2")
    if changes.max_failed_fraction is not None:
        values["max_failed_fraction"] = _fraction(changes.max_failed_fraction, "--max-failed-fraction", "0.1")
    if changes.asset_type is not None:
        values["asset_type"] = one_of(changes.asset_type, ASSET_TYPES, "asset type")
    if changes.sign_streams is not None:
        values["sign_streams"] = (
            None
            if changes.sign_streams in ("", "none")
            else one_of(changes.sign_streams, SIGNING_SCHEMES, "signing scheme")
        )
    if changes.pause_after is not None:
        values["pause_after"] = _pause_after(changes.pause_after)
    _check_settings(changes.options, "--option")
    for key in url_options():
        if changes.options.get(key):
            validate_url(changes.options[key], f"--option {key}")
    _check_settings(changes.credentials, "--credential")
    if creating:
        values.setdefault("truth", "importer")
        values.setdefault("on_missing", "keep")
        values.setdefault("max_removal_fraction", 0.2)
        values.setdefault("max_failed_fraction", DEFAULT_MAX_FAILED_FRACTION)
        values.setdefault("asset_type", "movie")
        values.setdefault("sign_streams", None)
        values.setdefault("pause_after", DEFAULT_PAUSE_AFTER)
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


def add_source(catalog: Catalog, service: str, changes: SourceChanges, *, allow_hosts: Iterable[str] = ()) -> Source:
    """Check a new source's settings and store it; it is due at once. `allow_hosts` adds to the catalog's."""
    values = validate_changes(changes, creating=True)
    _refuse_unsafe_urls(values, changes.options, (*catalog.allow_hosts, *allow_hosts), catalog.feed_folder)
    _refuse_local_file_for_kind(values["url"], values["kind"])
    credentials = {key: value for key, value in changes.credentials.items() if value}
    return catalog.insert_source(service, {**values, "options": dict(changes.options), "credentials": credentials})


def edit_source(catalog: Catalog, source_id: str, changes: SourceChanges, *, allow_hosts: Iterable[str] = ()) -> Source:
    """Apply a user's changes to a source, held to the checks of `add_source`; `KEY=` removes a setting."""
    values = validate_changes(changes, creating=False)
    _refuse_unsafe_urls(values, changes.options, (*catalog.allow_hosts, *allow_hosts), catalog.feed_folder)
    current = catalog.get_source(source_id)
    credentials = merge_settings(current.credentials, changes.credentials)
    options = merge_settings(current.options, changes.options)
    if changes.credentials:
        values["credentials"] = credentials
    if changes.options:
        values["options"] = options
    kind = values.get("kind", current.kind)
    if kind != current.kind and "url" not in values:
        values["url"] = url_after_kind_change(current.kind, current.url, kind, options)
    _refuse_local_file_for_kind(values.get("url", current.url), kind)
    # The checks of `add`, on the settings the source will have: the change merged into what it has.
    validate_source(kind, options, credentials, values.get("sign_streams", current.sign_streams))
    if _credentials_follow_host_change(current, values, changes):
        raise InvalidInput(
            "the source's credentials were given for another host: give them again with --credential in the"
            " same edit (or remove them with KEY=), so stored secrets never go to a host they were not meant for"
        )
    if _changes_what_is_imported(current, values, changes):
        # The same document now imports differently (another origin, kind, type, policy or option): the
        # validators and digest of the last fetch must not end the next import as unchanged.
        values.update(etag=None, last_modified=None, content_digest=None, sync_state=None)
    return catalog.update_source(source_id, values)


def _refuse_unsafe_urls(
    values: dict[str, Any], options: dict[str, str], allow_hosts: Iterable[str], feed_folder: Path | None
) -> None:
    """Refuse the addresses a source's settings give (its URL, URL-valued options) that may not be fetched."""
    if values.get("url"):
        refuse_unsafe_url(values["url"], allow_hosts, feed_folder)
    for url in (options.get(key) for key in url_options()):
        if url:
            refuse_unsafe_url(url, allow_hosts)


def _refuse_local_file_for_kind(url: str, kind: str) -> None:
    """A `file:` URL is for the kinds that read one document; a platform's API is never a file."""
    if net.is_file_url(url) and not source_kind(kind).local_files:
        readers = ", ".join(name for name, spec in source_kinds().items() if spec.local_files)
        raise InvalidInput(
            f"invalid URL {net.safe_url(url)!r}: a {kind} source reads an API over http(s); file:/// URLs of the"
            f" local feed folder are for {readers} sources"
        )


_IMPORT_SETTINGS = ("kind", "url", "asset_type", "truth", "on_missing", "max_removal_fraction")


def _changes_what_is_imported(current: Source, values: dict[str, Any], changes: SourceChanges) -> bool:
    changed = any(name in values and values[name] != getattr(current, name) for name in _IMPORT_SETTINGS)
    return changed or bool(changes.options) or bool(changes.credentials)


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:  # a URL stored before it was checked: compared whole, so any change counts as a move
        return url.lower()


def _credentials_follow_host_change(current: Source, values: dict[str, Any], changes: SourceChanges) -> bool:
    """Whether an edit would send the source's stored credentials to a host they were not given for."""
    if not current.credentials or changes.credentials:
        return False
    if "url" in values and _host(values["url"]) != _host(current.url):
        return True
    return any(
        changes.options.get(key) is not None and _host(changes.options[key]) != _host(current.options.get(key, ""))
        for key in url_options()
    )
