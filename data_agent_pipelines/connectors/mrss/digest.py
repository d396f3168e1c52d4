"""The origin digest of an item: what makes an earlier import's asset the one this item would map to again."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lxml import etree

from ... import limits, model
from .. import standard_keys, streams
from . import elements, namespaces, rules, values
from .rules import Scope

# What an asset is made of besides its item: the mapping's modules, the stream types, the model, the standard
# custom keys and the value boundary that `importing._stage` applies after the mapping. A change to what `_stage`
# does to a mapped asset must bump this version (nothing else can tell).
MAPPING_VERSION = 1


@functools.cache
def _mapping_code() -> bytes:
    """A digest of the code an asset depends on besides its item: a new release maps every item again, once."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"mapping {MAPPING_VERSION}".encode())
    for module in (elements, namespaces, rules, values, streams, model, standard_keys, limits):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.digest()


def item_digester(channel: Scope, default_type: str) -> Callable[[Any], str]:
    """The origin digest of an item element: its serialised form, with all else its mapping reads.

    That is the channel-level defaults (the scope built from the elements before the first item, not the
    document's dates or build time), the source's asset type and the mapping code.
    """
    base = hashlib.blake2b(digest_size=16)
    base.update(_mapping_code())
    base.update(f"{default_type}\x1f{channel!r}\x1f".encode())

    def digest(el: Any) -> str:
        item = base.copy()
        item.update(etree.tostring(el, with_tail=False))
        return item.hexdigest()

    return digest
