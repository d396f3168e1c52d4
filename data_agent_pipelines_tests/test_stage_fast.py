"""The one-pass fast path of an import's item (`limits.encode_within_limits`) gives exactly what the general path
gives (`bound_asset`, then `encode_asset`), or leaves the item to it: never another asset, another hash or a
missed limit. And the cache of instant texts never changes a text."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_agent_pipelines import limits
from data_agent_pipelines.limits import (
    MAX_CUSTOM_KEY,
    MAX_CUSTOM_VALUE,
    MAX_ENTRIES,
    MAX_INTEGER,
    MAX_LABEL,
    MAX_URL,
    bound_asset,
    encode_within_limits,
)
from data_agent_pipelines.model import (
    Asset,
    Availability,
    Credit,
    Edition,
    Geoblock,
    Image,
    Rating,
    Stream,
    Subtitle,
    encode_asset,
    encoding,
    isoformat,
)

from .test_encode_fast import EDGE_ASSETS, SPECIALS, assets, feed_assets, model_assets, outcome, sloppy_assets
from .test_limits_fast import EDGES


def _general(asset: Asset) -> Any:
    """What the general path makes of `asset`: its warnings and encoding, or the type it raised.

    The limits' full pass, without their own fast check: the fast path must agree with what the limits say.
    """
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(limits, "_within_limits", lambda asset: False)
        try:
            warnings = bound_asset(asset)
        except Exception as exc:
            return type(exc)
    return warnings, outcome(encode_asset, asset)


def _fast(asset: Asset) -> Any:
    """What the fast path makes of `asset` (None: it left the item to the general path)."""
    before = repr(asset)
    encoded = encode_within_limits(asset)
    assert repr(asset) == before, "the fast path changed the asset"
    return None if encoded is None else ([], outcome(lambda _: encoded, None))


def _agrees_built(build: Callable[[], Asset]) -> bool:
    """Whether the fast path agrees with the general path on `build()`, each given an asset of its own."""
    fast = _fast(build())
    return fast is None or fast == _general(build())


def _agrees(asset: Asset) -> bool:
    return _agrees_built(lambda: copy.deepcopy(asset))


@settings(max_examples=400, deadline=None)
@given(model_assets)
def test_the_fast_path_agrees_with_the_general_path(asset: Asset) -> None:
    assert _agrees(asset)


@settings(max_examples=400, deadline=None)
@given(sloppy_assets)
def test_the_fast_path_agrees_on_values_outside_the_model(asset: Asset) -> None:
    assert _agrees(asset)


# Texts near the limits, with what the fast path checks through the JSON text (NUL, lone surrogates).
edge_texts = st.one_of(
    st.text(st.sampled_from("ab\\u0" + SPECIALS + "\ud800\udfff"), max_size=6),
    st.sampled_from(("x" * MAX_LABEL, "x" * (MAX_LABEL + 1), "u" * MAX_URL, "u" * (MAX_URL + 1), "\\u0000")),
)
edge_numbers = st.one_of(st.none(), st.sampled_from((-1, 0, MAX_INTEGER, MAX_INTEGER + 1, 2**63, True)))
zones = st.sampled_from((UTC, timezone(timedelta(hours=2)), timezone(timedelta(0), "Z")))
edge_instants = st.one_of(
    st.none(),
    st.datetimes(timezones=zones),
    st.datetimes(timezones=st.just(UTC)).map(lambda value: value.replace(fold=1)),
    st.datetimes(),
)
edge_assets = assets(
    text=edge_texts,
    optional_text=st.none() | edge_texts,
    number=edge_numbers,
    flag=st.sampled_from((True, False, None, 0)),
    instant=edge_instants,
    many=lambda items: st.lists(items, max_size=3),
    custom=st.dictionaries(edge_texts, edge_texts, max_size=3),
)


@settings(max_examples=400, deadline=None)
@given(edge_assets)
def test_the_fast_path_agrees_on_values_at_and_past_the_limits(asset: Asset) -> None:
    assert _agrees(asset)


def _many(kind: str, count: int) -> Asset:
    one: dict[str, Callable[[], Any]] = {
        "images": lambda: Image("https://x/"),
        "tags": lambda: "t",
        "genres": lambda: "g",
        "credits": lambda: Credit("c"),
        "ratings": lambda: Rating("r"),
        "editions": lambda: Edition(),
    }
    return Asset("a", **{kind: [one[kind]() for _ in range(count)]})


HOSTILE: dict[str, Callable[[], Asset]] = {
    "NUL in a custom key": lambda: Asset("a", custom={"k\x00": "v"}),
    "lone surrogate in a custom key": lambda: Asset("a", custom={"k\ud800": "v"}),
    "lone surrogate in a custom value": lambda: Asset("a", custom={"k": "\udfff"}),
    "text that looks like an escaped NUL": lambda: Asset("a", title="\\u0000", tags=["\\u0000"]),
    "NUL in a stream MIME type": lambda: Asset("a", editions=[Edition(streams=[Stream("https://x/", mime="a\x00")])]),
    "lone surrogate in a subtitle label": lambda: Asset(
        "a", editions=[Edition(subtitles=[Subtitle("https://x/", label="\ud800")])]
    ),
    "custom key at the limit": lambda: Asset("a", custom={"k" * MAX_CUSTOM_KEY: "v"}),
    "custom key past the limit": lambda: Asset("a", custom={"k" * (MAX_CUSTOM_KEY + 1): "v"}),
    "custom value at the limit": lambda: Asset("a", custom={"k": "v" * MAX_CUSTOM_VALUE}),
    "custom value past the limit": lambda: Asset("a", custom={"k": "v" * (MAX_CUSTOM_VALUE + 1)}),
    "too many custom entries": lambda: Asset("a", custom={str(n): "v" for n in range(MAX_ENTRIES["custom"] + 1)}),
    "streams past the limit": lambda: Asset(
        "a", editions=[Edition(streams=[Stream("https://x/")] * (MAX_ENTRIES["streams"] + 1))]
    ),
    "NaN width": lambda: Asset("a", images=[Image("https://x/", width=float("nan"))]),  # type: ignore[arg-type]
    "huge height": lambda: Asset("a", images=[Image("https://x/", height=2**80)]),
    "bool season": lambda: Asset("a", season=True),
    "datetime as release date": lambda: Asset("a", release_date=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)),
    "date as release date": lambda: Asset("a", release_date=date(2025, 1, 2)),
    "naive instant": lambda: Asset("a", published_at=datetime(2025, 1, 2, 3, 4, 5)),
    "instant of another zone": lambda: Asset(
        "a", availability=Availability(datetime(2025, 1, 2, 3, tzinfo=timezone(timedelta(hours=-5))), None)
    ),
    "instant with fold": lambda: Asset("a", published_at=datetime(2025, 1, 2, 3, fold=1, tzinfo=UTC)),
    "instant with microseconds": lambda: Asset("a", published_at=datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC)),
    "date in an availability": lambda: Asset("a", availability=Availability(date(2025, 1, 2))),  # type: ignore[arg-type]
    "geoblock mode not text": lambda: Asset("a", geoblock=Geoblock(1, ["GB"])),  # type: ignore[arg-type]
    "three-letter country": lambda: Asset("a", geoblock=Geoblock("allow", ["GBR"])),
    "DRM data": lambda: Asset("a", editions=[Edition(streams=[Stream("https://x/", drm_data={"k": "v"})])]),
    "default not a bool": lambda: Asset("a", editions=[Edition(streams=[Stream("https://x/", default=1)])]),  # type: ignore[arg-type]
    "forced subtitle": lambda: Asset("a", editions=[Edition(subtitles=[Subtitle("https://x/", forced=True)])]),
    "expiring stream": lambda: Asset(
        "a", editions=[Edition(streams=[Stream("https://x/", expires=datetime(2026, 1, 1, tzinfo=UTC))])]
    ),
    "edition without a name": lambda: Asset("a", editions=[Edition(None)]),  # type: ignore[arg-type]
    "label past the limit in an edition": lambda: Asset("a", editions=[Edition("e" * (MAX_LABEL + 1))]),
    **{f"{kind} at the limit": (lambda kind=kind: _many(kind, MAX_ENTRIES[kind])) for kind in ("images", "tags")},
    **{
        f"{kind} past the limit": (lambda kind=kind: _many(kind, MAX_ENTRIES[kind] + 1))
        for kind in ("images", "tags", "genres", "credits", "ratings", "editions")
    },
}


@pytest.mark.parametrize(
    "build", [*EDGES.values(), *EDGE_ASSETS.values(), *HOSTILE.values()], ids=[*EDGES, *EDGE_ASSETS, *HOSTILE]
)
def test_the_fast_path_agrees_at_the_edges(build: Callable[[], Asset]) -> None:
    # Each path gets an asset of its own: some hold generators, which the first reader spends.
    assert _agrees_built(build)


def test_the_fast_path_leaves_what_it_cannot_vouch_for() -> None:
    # Each of these the general path cleans, cuts, drops or refuses: the fast path must not answer for it.
    for name in ("NUL in a custom key", "lone surrogate in a custom key", "custom value past the limit", "NaN width"):
        assert encode_within_limits(HOSTILE[name]()) is None, name


def test_the_fast_path_agrees_on_the_sample_feeds_and_the_corpus() -> None:
    assets = feed_assets()
    assert len(assets) >= 10
    for asset in assets:
        assert _agrees(asset), asset.external_id


def test_parsed_items_take_the_fast_path() -> None:
    assets = feed_assets()
    slow = [asset.external_id for asset in assets if encode_within_limits(copy.deepcopy(asset)) is None]
    fast_enough = [asset.external_id for asset in assets if limits._within_limits(asset)]
    # Every item the limits' own fast check passes, bar the rare values it leaves to the general encoder.
    assert len(slow) <= len(assets) - len(fast_enough) + len(assets) // 20, slow


@pytest.mark.parametrize(
    "value",
    [
        datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        datetime(2025, 1, 2, 3, 4, 5, fold=1, tzinfo=UTC),
        datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
        datetime(2025, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),  # equal to the first
        datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(0), "Z")),
        datetime(2025, 1, 2, 3, 4, 5),
    ],
)
def test_instant_texts_are_the_texts_of_the_value(value: datetime) -> None:
    encoding.instant_texts(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))  # an equal instant in the cache first
    for _ in range(2):  # computed, then perhaps from the cache
        assert encoding.instant_texts(value) == (repr(value), isoformat(value))


decoded_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from((2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30)),
        st.floats(),  # NaN and the infinities included: the stdlib writes and reads them
        st.text(st.one_of(st.characters(), st.sampled_from('\x00\ud800\udfff\\"1234567890'))),
    ),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=4), children)),
    max_leaves=20,
)


def _same(a: Any, b: Any) -> bool:
    return repr(a) == repr(b)  # types count (1 is not 1.0) and NaN is not equal to itself


@settings(max_examples=500, deadline=None)
@given(decoded_values)
def test_decode_json_reads_what_the_stdlib_reads(value: Any) -> None:
    text = encoding.canonical_json(value)
    assert _same(encoding.decode_json(text), json.loads(text))


@pytest.mark.parametrize(
    "text", ["[1e400]", "[NaN]", "[18446744073709551616]", "[-9223372036854775809]", '["\\ud800"]', '{"a":1,"a":2}']
)
def test_decode_json_on_texts_orjson_reads_otherwise(text: str) -> None:
    assert _same(encoding.decode_json(text), json.loads(text))
