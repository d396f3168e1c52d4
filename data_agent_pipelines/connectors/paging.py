"""What the online-video-platform connectors share: one API client, one paginator, one page store, one sync rule.

- `ApiClient` sends every platform call through `net.HttpClient` (which retries 429 and 5xx with backoff,
  honouring `Retry-After`), adds the source's credentials (`Auth`), paces calls by the platform's rate-limit
  headers, renews an expired token once, and turns a rejected credential into a `SourceAuthError` that names the
  platform and the setting to check — never the credential's value.
- `collect` walks a list endpoint page by page, as a connector declares it (`Paging`: page numbers, offsets or
  next links; page size; the platform's result cap, worked around by windowing on a sort key). It writes every
  item to a `PageStore` (one JSON document a line in the run's work folder), so memory stays flat.
- A runaway paging loop (the same page twice, more pages than the announced total allows, the hard page cap)
  stops paging and marks the fetch incomplete (`Fetched.complete=False`): what was read is imported, nothing is
  unpublished or deleted, and the result says why. Any failed call (after net's retries) fails the whole import:
  a half-read origin is never mistaken for the whole, and the next run starts over.
- `Sweep` decides between a full fetch and an incremental one (changes since the last good import, where the API
  has an updated-since filter). A full sweep runs at least every `full_sweep_every` (default 1d) so deletions are
  still seen; an incremental fetch is incomplete by nature, so it never removes anything.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

from ..errors import InvalidInput, PlatformError, SourceAuthError
from ..model import Asset, ItemFailure, Source
from ..net import AuthRejected, HttpClient, Response
from ..schedule import parse_duration
from .base import Fetched, source_timeout

DEFAULT_FULL_SWEEP = timedelta(days=1)
# Changes indexed a little after their timestamp (and clock skew between us and the platform) are caught by
# starting each incremental window this much before the previous fetch started.
SYNC_OVERLAP = timedelta(minutes=10)
MAX_RATE_LIMIT_WAIT = 300.0


# --- credentials ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Platform:
    """A platform as a customer knows it: its name and the settings of a source that reach it."""

    name: str  # "JW Player"
    credential_hint: str  # which source setting to check when the platform refuses access


def credential(source: Source, key: str, platform: Platform) -> str:
    """The decrypted credential `key` of the source; InvalidInput naming the setting when it is missing."""
    value = (source.credentials.get(key) or "").strip()
    if not value:
        raise InvalidInput(
            f"this {platform.name} source has no credential {key!r}: add it with "
            f"`data-agent sources edit {source.id} --credential {key}=…`"
        )
    return value


def option(source: Source, key: str, platform: Platform) -> str:
    """The option `key` of the source; InvalidInput naming the setting when it is missing."""
    value = (source.options.get(key) or "").strip()
    if not value:
        raise InvalidInput(
            f"this {platform.name} source has no option {key!r}: add it with "
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


def auth_error(platform: Platform, exc: Exception) -> SourceAuthError:
    """The error for a credential a platform refused: names the platform and the setting, never the value."""
    status = f" ({exc.status_code} from {exc.url})" if isinstance(exc, AuthRejected) else ""
    return SourceAuthError(
        f"{platform.name} refused this source's credentials{status}: check {platform.credential_hint}"
    )


class CredentialExpired(Exception):
    """A platform said, in its own way, that the session or token is no longer valid (renew and try again)."""


class Auth(Protocol):
    """How a platform call carries the source's credentials: in headers, or in the JSON body (Kaltura's KS)."""

    def headers(self) -> dict[str, str]: ...

    def body(self) -> dict[str, str]: ...

    def renew(self) -> bool:
        """Get fresh credentials after the platform refused the current ones; False when that cannot help."""
        ...


@dataclass
class BearerSecret:
    """A long-lived secret sent as `Authorization: Bearer …` (JW Player, Vimeo)."""

    secret: str
    scheme: str = "Bearer"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"{self.scheme} {self.secret}"}

    def body(self) -> dict[str, str]:
        return {}

    def renew(self) -> bool:
        return False


class NoAuth:
    """Public endpoints (JW Player's Delivery API), and Kaltura's session.start (the secret is a parameter)."""

    def headers(self) -> dict[str, str]:
        return {}

    def body(self) -> dict[str, str]:
        return {}

    def renew(self) -> bool:
        return False


class ExpiringToken:
    """A token obtained by `obtain() -> (token, lifetime_seconds)`, renewed before it expires; thread-safe."""

    MARGIN_SECONDS = 30.0  # renewed this long before it expires, so a call never carries a token about to lapse

    def __init__(self, obtain: Callable[[], tuple[str, float]], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._obtain = obtain
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0

    def token(self) -> str:
        """The current token, fetching a new one when none is held or it expires within the margin."""
        with self._lock:
            if self._token is None or self._clock() >= self._expires - self.MARGIN_SECONDS:
                self._fetch()
            assert self._token is not None
            return self._token

    def _fetch(self) -> None:
        token, lifetime = self._obtain()
        self._token, self._expires = token, self._clock() + lifetime

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def body(self) -> dict[str, str]:
        return {}

    def renew(self) -> bool:
        with self._lock:
            self._fetch()
        return True


# --- rate limits --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimitHeaders:
    """Where a platform announces its quota: remaining calls, and when the window resets (if it says)."""

    remaining: str
    reset: str | None = None
    window_seconds: float = 60.0  # the wait when the quota is spent and the platform gives no reset time


def _reset_wait(value: str, now: float) -> float | None:
    """Seconds until a reset given as epoch seconds, seconds from now, an ISO-8601 instant or an HTTP date."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        return number - now if number > 1e9 else number
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp() - now


class RateLimiter:
    """Waits before the next call once the platform says the quota is spent, until its window resets."""

    def __init__(
        self,
        headers: RateLimitHeaders | None,
        *,
        sleep: Callable[[float], None],
        now: Callable[[], float] = time.time,
    ) -> None:
        self._headers = headers
        self._sleep = sleep
        self._now = now
        self._lock = threading.Lock()
        self._wait_until: float | None = None

    def before_call(self) -> None:
        with self._lock:
            if self._wait_until is None:
                return
            delay = min(self._wait_until - self._now(), MAX_RATE_LIMIT_WAIT)
            self._wait_until = None
            if delay > 0:
                self._sleep(delay)

    def observe(self, response_headers: Mapping[str, str]) -> None:
        if self._headers is None:
            return
        remaining = response_headers.get(self._headers.remaining)
        if remaining is None or remaining.strip() not in ("0", "0.0"):
            return
        reset = response_headers.get(self._headers.reset) if self._headers.reset else None
        wait = _reset_wait(reset, self._now()) if reset else None
        with self._lock:
            self._wait_until = self._now() + (self._headers.window_seconds if wait is None else max(wait, 0.0))


# --- the API client -----------------------------------------------------------------------------------------------


class ApiClient:
    """Platform calls for one fetch: credentials, pacing, one renewal on expiry, errors a customer can act on."""

    def __init__(
        self,
        http: HttpClient,
        source: Source,
        platform: Platform,
        auth: Auth,
        *,
        rate_limit: RateLimitHeaders | None = None,
        headers: Mapping[str, str] | None = None,
        check: Callable[[Any], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.source = source
        self.platform = platform
        self.auth = auth
        self.limiter = RateLimiter(rate_limit, sleep=sleep)
        self._headers = dict(headers or {})
        self._check = check
        self._timeout = source_timeout(source)

    def call(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send one call and return its JSON body; a refused credential is renewed once, then fails the import."""
        try:
            return self._once(method, url, **kwargs)
        except (AuthRejected, CredentialExpired) as exc:
            if not self.auth.renew():
                raise self.rejected(exc) from None
        try:
            return self._once(method, url, **kwargs)
        except (AuthRejected, CredentialExpired) as exc:
            raise self.rejected(exc) from None

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET `url` (credentials in headers, never in the query string) and return the JSON body."""
        return self.call("GET", url, params=params)

    def _once(self, method: str, url: str, **kwargs: Any) -> Any:
        self.limiter.before_call()
        carried = self.auth.body()  # asked for at every attempt: a renewed credential replaces the refused one
        if carried:
            kwargs["json"] = {**(kwargs.get("json") or {}), **carried}
        response: Response = self.http.request(
            method, url, headers={**self._headers, **self.auth.headers()}, timeout=self._timeout, **kwargs
        )
        self.limiter.observe(response.headers)
        body = response.json()
        if self._check is not None:
            self._check(body)
        return body

    def rejected(self, exc: Exception) -> SourceAuthError:
        """The error for a credential the platform refused."""
        return auth_error(self.platform, exc)

    def failed(self, what: str) -> PlatformError:
        """An API error reported by the platform; its text is redacted of credentials."""
        return PlatformError(redact(f"{self.platform.name} answered with an error: {what}", self.source))


# --- paging -------------------------------------------------------------------------------------------------------


@dataclass
class Page:
    """One page of a list endpoint as a connector read it."""

    items: list[dict[str, Any]]
    total: int | None = None  # how many items the whole query has, when the platform says
    next_url: str | None = None  # the platform's link to the next page, for link-following APIs


@dataclass(frozen=True)
class PageRequest:
    """Which page to ask for; a connector turns it into its API's parameters."""

    number: int  # 1-based page number within the current window
    offset: int  # items before this page within the current window
    size: int
    next_url: str | None = None  # the link given by the previous page (link-following APIs)
    window_start: Any = None  # lower bound of the window key (windowed listings), None for the first window


def item_id_field(item: dict[str, Any]) -> Any:
    """The item's `id` field: how most platforms identify a listed item."""
    return item.get("id")


@dataclass(frozen=True)
class Paging:
    """How a list endpoint pages, declared by each connector."""

    size: int
    follow_next: bool = False  # the next page is the link the page gives (else: page numbers / offsets)
    cap: int | None = None  # the platform serves at most this many results per query
    window_key: Callable[[dict[str, Any]], Any] | None = None  # sort key to narrow the query on past the cap
    item_id: Callable[[dict[str, Any]], Any] = item_id_field
    max_pages: int = 20_000


@dataclass
class Collected:
    """The outcome of walking a list endpoint."""

    items: int = 0
    pages: int = 0
    complete: bool = True
    notes: list[str] = field(default_factory=list)

    def stop(self, note: str) -> None:
        self.complete = False
        self.notes.append(note)


def collect(
    fetch_page: Callable[[PageRequest], Page],
    paging: Paging,
    emit: Callable[[list[dict[str, Any]]], None],
    *,
    what: str = "items",
) -> Collected:
    """Read every page of a listing, handing each page's items to `emit`; stop runaway loops as incomplete.

    With `paging.cap` and `paging.window_key`, the listing must be sorted ascending by the key and filtered on
    `key >= window_start`: when a window reaches the cap, the next window starts at the last key read, and the
    items of that boundary key already read are skipped.
    """
    result = Collected()
    window_start: Any = None
    boundary_ids: set[Any] = set()  # ids read whose key equals the last key (repeated by the next window)
    while True:
        window = _walk_window(fetch_page, paging, emit, result, window_start, boundary_ids, what)
        if window is None:
            return result
        if window == window_start:
            result.stop(
                f"paging stopped: more than {paging.cap} {what} share the same {window!r}, so the listing cannot "
                "be narrowed further; the rest were not read"
            )
            return result
        window_start = window


def _ended(result: Collected, page: Page, offset: int, what: str) -> None:
    """The listing ended; short of the total the platform announced, the fetch is incomplete (nothing removed)."""
    if page.total is not None and offset < page.total:
        result.stop(f"the platform's listing ended after {offset} of the {page.total} {what} it announced")


def _walk_window(
    fetch_page: Callable[[PageRequest], Page],
    paging: Paging,
    emit: Callable[[list[dict[str, Any]]], None],
    result: Collected,
    window_start: Any,
    boundary_ids: set[Any],
    what: str,
) -> Any:
    """Page through one window; return the start of the next window, or None when the listing is done."""
    seen_pages: set[str] = set()
    number, offset, next_url = 1, 0, None
    # The previous window handed over the ids read at its boundary key; they stay known until the key moves on.
    last_key: Any = window_start
    while True:
        if result.pages >= paging.max_pages:
            result.stop(f"paging stopped after {result.pages} pages, the most one import reads")
            return None
        page = fetch_page(PageRequest(number, offset, paging.size, next_url, window_start))
        result.pages += 1
        fingerprint = hashlib.sha256(
            json.dumps([paging.item_id(i) for i in page.items], default=str).encode()
        ).hexdigest()
        if page.items and fingerprint in seen_pages:
            result.stop(f"paging stopped: the platform returned the same page of {what} twice (page {number})")
            return None
        seen_pages.add(fingerprint)
        fresh = [i for i in page.items if paging.item_id(i) not in boundary_ids]
        if paging.window_key is not None and page.items:
            for item in page.items:
                key = paging.window_key(item)
                if key != last_key:
                    last_key = key
                    boundary_ids.clear()
                boundary_ids.add(paging.item_id(item))
        if fresh:
            emit(fresh)
            result.items += len(fresh)
        offset += len(page.items)
        if not page.items:
            return _ended(result, page, offset, what)
        if page.total is not None:
            if offset >= page.total:
                return None
            allowed = math.ceil(page.total / paging.size)
            if number >= allowed:
                result.stop(
                    f"paging stopped: the platform announced {page.total} {what} ({allowed} pages of {paging.size}) "
                    f"but page {number} still did not complete them"
                )
                return None
        if paging.follow_next:
            if not page.next_url:
                return _ended(result, page, offset, what)
            next_url = page.next_url
        elif page.total is None and len(page.items) < paging.size:
            return None
        if paging.cap is not None and offset + paging.size > paging.cap:
            if paging.window_key is None:
                result.stop(f"paging stopped at the platform's limit of {paging.cap} results per query")
                return None
            return last_key
        number += 1


# --- the page store -----------------------------------------------------------------------------------------------


class PageStore:
    """Items of a paginated fetch, one JSON document a line in the run's work folder, with a digest of them all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.size = 0  # bytes written
        self._digest = hashlib.sha256()
        self._handle = path.open("w", encoding="utf-8")

    def add(self, items: Iterable[dict[str, Any]]) -> None:
        for item in items:
            line = json.dumps(item, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
            data = line.encode()
            self._digest.update(data)
            self._handle.write(line)
            self.count += 1
            self.size += len(data)

    def close(self) -> None:
        self._handle.close()

    @property
    def digest(self) -> str:
        return self._digest.hexdigest()

    @staticmethod
    def read(path: Path) -> Iterator[dict[str, Any]]:
        """The stored items, one at a time."""
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)


# --- full and incremental sweeps ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    """Whether this fetch reads everything (`since` None) or the changes since an instant; and the state to save."""

    since: datetime | None
    started_at: datetime
    full_sweep_at: datetime | None  # the last full sweep, carried over by incremental fetches

    @classmethod
    def plan(cls, source: Source, *, now: datetime | None = None) -> Sweep:
        """A full sweep when due (or `--option incremental=false`), else an incremental fetch."""
        now = now or datetime.now(UTC)
        state = source.sync_state or {}
        last_full = _instant(state.get("full_sweep_at"))
        cursor = _instant(state.get("cursor"))
        every = _full_sweep_every(source)
        if not bool_option(source, "incremental") or last_full is None or cursor is None or now - last_full >= every:
            return cls(since=None, started_at=now, full_sweep_at=None)
        return cls(since=cursor - SYNC_OVERLAP, started_at=now, full_sweep_at=last_full)

    @property
    def full(self) -> bool:
        return self.since is None

    def state(self) -> dict[str, Any]:
        """The sync state to save once this fetch has been imported successfully."""
        full_at = self.started_at if self.full else self.full_sweep_at
        return {"cursor": self.started_at.isoformat(), "full_sweep_at": full_at.isoformat() if full_at else None}

    def note(self) -> str | None:
        if self.full:
            return None
        return (
            f"incremental fetch: only changes since {self.since.isoformat()} were read; assets removed from the "
            "platform are noticed at the next full sweep"
        )


def _instant(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed and parsed.tzinfo is None else parsed


def _full_sweep_every(source: Source) -> timedelta:
    raw = source.options.get("full_sweep_every")
    return timedelta(seconds=parse_duration(raw)) if raw else DEFAULT_FULL_SWEEP


def fetched_from(store: PageStore, collected: Collected, sweep: Sweep | None, url: str) -> Fetched:
    """The Fetched of a paginated fetch: incomplete when paging stopped early or only changes were read.

    The sync state to save is given only when every page was read, so a cut-short fetch is read again next time.
    """
    store.close()
    notes = [f"{store.count} items read in {collected.pages} pages", *collected.notes]
    complete = collected.complete and (sweep is None or sweep.full)
    if sweep is not None and sweep.note():
        notes.append(str(sweep.note()))
    return Fetched(
        path=store.path,
        content_type="application/x-ndjson",
        digest=store.digest,
        size=store.size,
        url=url,
        complete=complete,
        notes=notes,
        sync_state=sweep.state() if sweep is not None and collected.complete else None,
    )


# --- parsing stored items -----------------------------------------------------------------------------------------


class StoredItems:
    """The Parse of a paginated fetch: each stored item mapped to an Asset; an item that cannot be mapped fails."""

    def __init__(
        self,
        path: Path,
        parser: str,
        map_item: Callable[[dict[str, Any]], Asset],
        item_id: Callable[[dict[str, Any]], Any],
    ) -> None:
        self.parser = parser
        self.notes: list[str] = []
        self.complete = True
        self._path = path
        self._map = map_item
        self._id = item_id

    def __iter__(self) -> Iterator[Asset | ItemFailure]:
        for raw in PageStore.read(self._path):
            external_id = self._id(raw)
            try:
                if not external_id:
                    raise ValueError("the item has no id")
                asset = self._map(raw)
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
                yield ItemFailure(
                    reason="the item could not be read as an asset",
                    external_id=str(external_id) if external_id else None,
                    data=raw,
                    errors=[f"{type(exc).__name__}: {exc}"],
                )
                continue
            yield asset


def map_bounded(call: Callable[[Any], Any], items: list[Any], concurrency: int) -> list[Any]:
    """`[call(i) for i in items]` with at most `concurrency` calls in flight; the first error propagates."""
    if concurrency <= 1 or len(items) <= 1:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        return list(pool.map(call, items))
