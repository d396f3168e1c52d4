"""The origin digest of an item: what makes an earlier import's asset the one this item would map to again."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from lxml import etree

from .rules import Scope

# The version of the code that turns an item into the asset the catalog stores: the modules named here, and
# every module of data_agent_pipelines they import (the lxml mapping brings the rules, value parsers, stream
# types and model; standard_keys and limits are what `importing._stage` applies after the mapping). Bump it
# whenever that code changes what an asset comes out as, and when what `_stage` does to a mapped asset changes
# (nothing else can tell): every item is then mapped again once. test_mapping_version.py fails when the code of
# these modules changed, or a module joined or left them, while the version stayed.
MAPPING_VERSION = 11
MAPPING_ROOTS = (
    "data_agent_pipelines.connectors.mrss.elements",
    "data_agent_pipelines.connectors.standard_keys",
    "data_agent_pipelines.limits",
)


def item_digester(channel: Scope, default_type: str) -> Callable[[Any], str]:
    """The origin digest of an item element: its serialised form, with all else its mapping reads.

    That is the channel-level defaults (the scope built from the elements before the first item, not the
    document's dates or build time), the source's asset type and the mapping's version.
    """
    base = hashlib.blake2b(digest_size=16)
    base.update(f"mapping {MAPPING_VERSION}\x1f{default_type}\x1f{channel!r}\x1f".encode())

    def digest(el: Any) -> str:
        item = base.copy()
        item.update(etree.tostring(el, with_tail=False))
        return item.hexdigest()

    return digest
