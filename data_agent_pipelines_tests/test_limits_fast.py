"""The value boundary's fast path (`limits._within_limits`) never changes what `bound_asset` does: on any asset,
the fast path and the full pass leave the same asset, the same warnings, or raise the same error."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings

from data_agent_pipelines import limits
from data_agent_pipelines.limits import MAX_ENTRIES, MAX_EXTERNAL_ID, MAX_INTEGER, MAX_LABEL, MAX_URL, bound_asset
from data_agent_pipelines.model import Asset, Credit, Edition, Geoblock, Image, Rating, Stream, Subtitle

from .test_encode_fast import feed_assets, model_assets, sloppy_assets


def _bounded(asset: Asset) -> Any:
    """What `bound_asset` makes of a copy of `asset`: the asset and its warnings, or the type it raised."""
    mine = copy.deepcopy(asset)
    try:
        warnings = bound_asset(mine)
    except Exception as exc:
        return type(exc)
    return repr(mine), warnings


def _both_ways(asset: Asset, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    fast = _bounded(asset)
    with monkeypatch.context() as patched:
        patched.setattr(limits, "_within_limits", lambda asset: False)
        full = _bounded(asset)
    return fast, full


@settings(max_examples=300, deadline=None)
@given(model_assets)
def test_the_fast_path_agrees_with_the_full_pass(asset: Asset) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, full = _both_ways(asset, monkeypatch)
    assert fast == full


@settings(max_examples=300, deadline=None)
@given(sloppy_assets)
def test_the_fast_path_agrees_with_the_full_pass_on_values_outside_the_model(asset: Asset) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, full = _both_ways(asset, monkeypatch)
    assert fast == full


def _stream(**values: Any) -> Asset:
    return Asset("a", editions=[Edition(streams=[Stream("https://x/", **values)])])


# Each at a limit and just past it, or holding what the full pass cleans or refuses.
EDGES: dict[str, Callable[[], Asset]] = {
    "external id at the limit": lambda: Asset("e" * MAX_EXTERNAL_ID),
    "external id past the limit": lambda: Asset("e" * (MAX_EXTERNAL_ID + 1)),
    "unknown type": lambda: Asset("a", type="film"),
    "title at the limit": lambda: Asset("a", title="t" * 1_000),
    "title past the limit": lambda: Asset("a", title="t" * 1_001),
    "NUL in a title": lambda: Asset("a", title="a\x00b"),
    "lone surrogate in a tag": lambda: Asset("a", tags=["ok", "\ud800"]),
    "non-ASCII text": lambda: Asset("a", title="Café 中 😀", credits=[Credit("Zoë", "réalisatrice")]),
    "largest integer": lambda: Asset("a", duration=MAX_INTEGER),
    "integer past the limit": lambda: Asset("a", season=MAX_INTEGER + 1),
    "negative integer": lambda: Asset("a", episode=-1),
    "whole float": lambda: Asset("a", duration=5.0),  # type: ignore[arg-type]
    "bool width": lambda: Asset("a", images=[Image("https://x/", width=True)]),  # type: ignore[arg-type]
    "url past the limit": lambda: Asset("a", images=[Image("u" * (MAX_URL + 1))]),
    "label past the limit": lambda: Asset("a", ratings=[Rating("r" * (MAX_LABEL + 1))]),
    "tags at the limit": lambda: Asset("a", tags=["t"] * MAX_ENTRIES["tags"]),
    "tags past the limit": lambda: Asset("a", tags=["t"] * (MAX_ENTRIES["tags"] + 1)),
    "tags as a tuple": lambda: Asset("a", tags=("a", "b")),  # type: ignore[arg-type]
    "three-letter country": lambda: Asset("a", geoblock=Geoblock("allow", ["gbr"])),
    "stream bitrate out of range": lambda: _stream(bitrate=2**40),
    "stream MIME past the limit": lambda: _stream(mime="m" * (MAX_LABEL + 1)),
    "subtitle NUL": lambda: Asset("a", editions=[Edition(subtitles=[Subtitle("https://x/", label="\x00")])]),
    "custom key past the limit": lambda: Asset("a", custom={"k" * 201: "v"}),
    "custom value not text": lambda: Asset("a", custom={"k": 1}),  # type: ignore[dict-item]
    "text that is not str": lambda: Asset("a", title=7),  # type: ignore[arg-type]
    "None image role": lambda: Asset("a", images=[Image("https://x/", role=None)]),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("build", EDGES.values(), ids=EDGES.keys())
def test_the_fast_path_agrees_at_the_edges(build: Callable[[], Asset], monkeypatch: pytest.MonkeyPatch) -> None:
    fast, full = _both_ways(build(), monkeypatch)
    assert fast == full


def test_parsed_items_take_the_fast_path() -> None:
    assets = feed_assets()
    assert len(assets) >= 10
    slow = [asset.external_id for asset in assets if not limits._within_limits(asset)]
    assert len(slow) <= len(assets) // 10, slow  # the corpus holds hostile items on purpose; the rest are fast
