"""Walking a platform's list endpoint page by page, as each connector declares it, stopping runaway loops."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


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
