"""The OVP toolkit: the shared paginator, rate limiter and sync rule, driven the way platforms misbehave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from data_agent_pipelines.connectors.ovp.paging import Page, PageRequest, Paging, collect
from data_agent_pipelines.connectors.ovp.rate_limit import RateLimiter, RateLimitHeaders
from data_agent_pipelines.connectors.ovp.sweep import Sweep
from data_agent_pipelines.errors import InvalidInput

from .ovp import Sleeps, make_source

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def items(start: int, count: int) -> list[dict[str, Any]]:
    return [{"id": f"i{n}"} for n in range(start, start + count)]


def test_short_pages_past_the_announced_total_stop_as_incomplete() -> None:
    asked: list[int] = []

    def short_pages(request: PageRequest) -> Page:  # always 3 items although 10 were asked for
        asked.append(request.number)
        return Page(items=items(request.number * 3, 3), total=25)

    read: list[dict[str, Any]] = []
    collected = collect(short_pages, Paging(size=10), read.extend)
    assert asked == [1, 2, 3] and len(read) == 9
    assert not collected.complete and "announced 25 items" in collected.notes[0]


def test_a_listing_ends_at_the_total_at_an_empty_page_or_at_a_short_page_without_total() -> None:
    def by_total(request: PageRequest) -> Page:
        return Page(items=items(request.offset, min(10, 25 - request.offset)), total=25)

    def until_empty(request: PageRequest) -> Page:
        return Page(items=items(request.offset, 10) if request.offset < 30 else [], next_url="more")

    def until_short(request: PageRequest) -> Page:
        return Page(items=items(request.offset, 10 if request.offset < 20 else 4))

    for fetch, paging, expected in (
        (by_total, Paging(size=10), 25),
        (until_empty, Paging(size=10, follow_next=True), 30),
        (until_short, Paging(size=10), 24),
    ):
        read: list[dict[str, Any]] = []
        collected = collect(fetch, paging, read.extend)
        assert collected.complete and len(read) == expected == len({i["id"] for i in read})


def test_a_cap_without_a_window_key_stops_as_incomplete_and_the_page_cap_holds() -> None:
    def endless(request: PageRequest) -> Page:
        return Page(items=items(request.offset, 10))

    collected = collect(endless, Paging(size=10, cap=50), lambda found: None)
    assert not collected.complete and collected.items == 50 and "limit of 50" in collected.notes[0]
    collected = collect(endless, Paging(size=10, max_pages=7), lambda found: None)
    assert not collected.complete and collected.pages == 7


def test_a_window_that_cannot_move_past_one_key_stops_instead_of_looping() -> None:
    def same_instant(request: PageRequest) -> Page:  # 100 items created at the same instant, cap 20
        everything = [{"id": f"i{n}", "created": "2024-01-01"} for n in range(100)]
        return Page(items=everything[request.offset : request.offset + 10], total=100)

    paging = Paging(size=10, cap=20, window_key=lambda item: item["created"])
    collected = collect(same_instant, paging, lambda found: None)
    assert not collected.complete and "cannot be narrowed" in collected.notes[-1]


def test_rate_limit_reset_times_in_every_documented_form() -> None:
    now = 1_800_000_000.0
    # epoch seconds, seconds from now, an ISO instant, an HTTP date (now is 2027-01-15 08:00:00 UTC)
    for reset, expected in (
        ("1800000030", 30.0),
        ("45", 45.0),
        ("2027-01-15T08:00:20+00:00", 20.0),
        ("Fri, 15 Jan 2027 08:00:50 GMT", 50.0),
    ):
        sleeps = Sleeps()
        limiter = RateLimiter(RateLimitHeaders("remaining", "reset"), sleep=sleeps, now=lambda: now)
        limiter.before_call()
        limiter.observe({"remaining": "0", "reset": reset})
        limiter.before_call()
        limiter.before_call()  # one wait per spent quota
        assert sleeps == [pytest.approx(expected)]
    sleeps = Sleeps()
    limiter = RateLimiter(RateLimitHeaders("remaining"), sleep=sleeps, now=lambda: now)
    limiter.observe({"remaining": "5"})
    limiter.before_call()
    limiter.observe({"remaining": "0"})
    limiter.before_call()
    assert sleeps == [60.0]


def test_sweeps_are_full_until_there_is_state_then_incremental_until_the_full_sweep_is_due() -> None:
    source = make_source("jwplayer", "https://api.example/", options={}, credentials={})
    assert Sweep.plan(source, now=NOW).full
    source.sync_state = Sweep.plan(source, now=NOW).state()
    later = Sweep.plan(source, now=NOW + timedelta(hours=2))
    assert later.since == NOW - timedelta(minutes=10) and later.state()["full_sweep_at"] == NOW.isoformat()
    assert Sweep.plan(source, now=NOW + timedelta(days=1)).full
    source.options["full_sweep_every"] = "1h"
    assert Sweep.plan(source, now=NOW + timedelta(hours=2)).full
    source.options = {"incremental": "false"}
    assert Sweep.plan(source, now=NOW + timedelta(hours=2)).full
    source.options = {"full_sweep_every": "soon"}
    with pytest.raises(InvalidInput, match=r"invalid duration .soon."):
        Sweep.plan(source, now=NOW)


@pytest.mark.parametrize("follow_next", [False, True])
def test_a_listing_that_ends_short_of_its_announced_total_is_incomplete(follow_next: bool) -> None:
    """A stale total, or a next link that stops early: what was not read must not look vanished."""

    def ends_early(request: PageRequest) -> Page:
        listed = items(0, 199)[request.offset : request.offset + 100]
        more = "more" if request.offset + 100 < 199 else None
        return Page(items=listed, total=250, next_url=more if follow_next else None)

    read: list[dict[str, Any]] = []
    collected = collect(ends_early, Paging(size=100, follow_next=follow_next), read.extend)
    assert len(read) == 199 and not collected.complete
    assert "ended after 199 of the 250" in collected.notes[0]


def test_windows_never_repeat_items_that_share_the_boundary_key_over_several_pages() -> None:
    """Five items created in the same instant straddle the cap of a window of two pages of three: the next window
    reads four of them again over two pages, and must emit none of those twice."""
    listing = [{"id": f"a{n}", "created": 1} for n in range(2)]
    listing += [{"id": f"b{n}", "created": 2} for n in range(5)]
    listing += [{"id": f"c{n}", "created": 3} for n in range(4)]

    def windowed(request: PageRequest) -> Page:
        window = [i for i in listing if request.window_start is None or i["created"] >= request.window_start]
        return Page(items=window[request.offset : request.offset + 3], total=len(window))

    read: list[dict[str, Any]] = []
    collect(windowed, Paging(size=3, cap=6, window_key=lambda item: item["created"]), read.extend)
    ids = [i["id"] for i in read]
    assert len(ids) == len(set(ids)) and set(ids) == {i["id"] for i in listing}
