"""Parsing one feed document: the checks before any parser runs, lxml's streaming read, and feedparser's finish.

`parse_feed(path)` checks the raw body (`document`) and returns a `FeedParse`, which streams the document through
`lxml.etree.iterparse`, mapping one item at a time; a document that turns out not to be well-formed is finished by
feedparser (`lenient`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from ...model import Asset, ItemFailure, KnownAsset
from ..base import KnownItem
from . import lenient
from .digest import item_digester
from .document import (
    UnreadableDocument,
    check_prolog,
    describe_unreadable,
    for_lenient_parser,
    lxml_encoding,
)
from .elements import channel_scope, declared_id, map_item
from .namespaces import FEED_ROOTS, ITEM_TAGS
from .rules import Scope
from .values import ItemError

MAX_RAW_ITEM_CHARS = 4096  # of a failed item, kept with its failure
NOTE_NOT_WELL_FORMED = (
    "the document is not well-formed XML ({where}); it was read with the lenient parser, so assets missing "
    "from it are not removed"
)


class FeedParse:
    """Iterable over the items of one document: yields model.Asset or model.ItemFailure, streaming.

    `parser`, `notes` and `complete` describe the last iteration and are valid after it. Iterating again reads
    the file again. Iteration raises UnreadableDocument when the document turns out not to be a feed at all.
    Items read by lxml carry their origin digest; after `skip_known`, an item whose digest is known is yielded as
    a `KnownItem` without being mapped (items read by feedparser are always mapped).
    """

    def __init__(self, path: str | os.PathLike[str], *, default_type: str, content_type: str | None, root: str | None):
        self.path = path
        self.default_type = default_type
        self.content_type = content_type
        self.root = root
        self.parser = "lxml"
        self.notes: list[str] = []
        self.complete = True
        self._seen: dict[str, bool] = {}
        self._yielded = 0
        self._known: Mapping[str, KnownAsset] = {}

    def skip_known(self, known: Mapping[str, KnownAsset]) -> None:
        """Items whose origin digest is a key of `known` (values: the assets they made) are not mapped again."""
        self._known = known

    def __iter__(self) -> Iterator[Asset | ItemFailure | KnownItem]:
        self.parser, self.notes, self.complete, self._seen, self._yielded = "lxml", [], True, {}, 0
        error = yield from self._read_with_lxml()
        if error is not None:
            yield from self._read_with_feedparser(error)

    def _checked(
        self,
        produce: Callable[[], Asset],
        raw: Callable[[], Any],
        declared_id: Callable[[], str | None],
        read_before: frozenset[str] = frozenset(),
    ) -> Iterator[Asset | ItemFailure]:
        """Map one item, catching its failure (which keeps the id the item states), and apply the
        first-occurrence-wins rule for ids.

        An item whose id is in `read_before` is one lxml yielded before the document broke off, read again by
        feedparser: it is dropped, not reported as a duplicate.
        """
        self._yielded += 1
        try:
            asset = produce()
        except Exception as exc:  # one bad item must never stop the others
            yield _failure(exc, raw, declared_id)
            return
        if asset.external_id in read_before:
            return
        if asset.external_id not in self._seen:
            self._seen[asset.external_id] = False
            yield asset
        else:
            yield from self._repeated(asset, raw)

    def _repeated(self, asset: Asset, raw: Callable[[], Any]) -> Iterator[ItemFailure]:
        """An id seen before in this document: reported once, with the first repetition."""
        if not self._seen[asset.external_id]:
            self._seen[asset.external_id] = True
            yield ItemFailure(
                reason=f"duplicate id {asset.external_id!r} in this document: only its first occurrence counts",
                external_id=asset.external_id,
                data=raw(),
            )

    def _read_with_lxml(self) -> Iterator[Asset | ItemFailure | KnownItem]:
        """Stream items; return the syntax error when the document is not well-formed (None when it is)."""
        with Path(self.path).open("rb") as file:
            context = etree.iterparse(
                file,
                events=("end",),
                tag=ITEM_TAGS,
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
                huge_tree=False,
                remove_comments=True,
                remove_pis=True,
                encoding=lxml_encoding(self.path, self.content_type),
            )
            events = iter(context)
            channel: Scope | None = None
            digest_of: Callable[[Any], str] = str
            known = self._known
            seen = self._seen
            default_type = self.default_type
            while True:
                try:
                    _, el = next(events)
                except StopIteration:
                    break
                except etree.XMLSyntaxError as exc:
                    return exc
                if channel is None:
                    channel = channel_scope(el)
                    digest_of = item_digester(channel, default_type)
                digest = digest_of(el)
                found = known.get(digest)
                if found is not None and found.external_id not in seen:
                    seen[found.external_id] = False
                    self._yielded += 1
                    yield KnownItem(found.external_id, digest)
                else:
                    # `_checked`, written out: this runs for every item of a first import.
                    self._yielded += 1
                    try:
                        asset = map_item(el, channel, default_type, digest)
                    except Exception as exc:
                        yield _failure(exc, lambda el=el: _raw_item(el), lambda el=el: declared_id(el))
                    else:
                        if asset.external_id not in seen:
                            seen[asset.external_id] = False
                            yield asset
                        else:
                            yield from self._repeated(asset, lambda el=el: _raw_item(el))
                el.clear(keep_tail=False)
                parent = el.getparent()
                if parent is not None:
                    while el.getprevious() is not None:
                        del parent[0]
            root_tag = context.root.tag if context.root is not None else None
        if channel is None and root_tag not in FEED_ROOTS:
            name = root_tag.rpartition("}")[2] if isinstance(root_tag, str) else self.root
            raise UnreadableDocument(describe_unreadable(self._head(), name))
        return None

    def _head(self) -> bytes:
        with Path(self.path).open("rb") as file:
            return file.read(4096)

    def _read_with_feedparser(self, error: etree.XMLSyntaxError) -> Iterator[Asset | ItemFailure]:
        with Path(self.path).open("rb") as file:
            data = file.read()
        where = f"line {error.lineno}: {error.msg}" if error.lineno else str(error.msg)
        self.complete = False
        lxml_found_items = self._yielded > 0
        data = for_lenient_parser(data, self.content_type, where)
        result = lenient.parse_leniently(data, self.content_type, where)
        if not result.entries and not result.get("version") and not lxml_found_items:
            raise UnreadableDocument(describe_unreadable(data, self.root))
        self.parser = "lxml+feedparser" if lxml_found_items else "feedparser"
        self.notes.append(NOTE_NOT_WELL_FORMED.format(where=where))
        already = frozenset(self._seen)
        channel = lenient.channel_scope(result.feed)
        for entry in result.entries:
            if lenient.entry_id(entry) in already:
                continue
            yield from self._checked(
                lambda entry=entry: lenient.map_entry(entry, channel, self.default_type),
                lambda entry=entry: lenient.raw_entry(entry, MAX_RAW_ITEM_CHARS),
                lambda entry=entry: lenient.entry_id(entry),
                already,
            )


def _failure(exc: Exception, raw: Callable[[], Any], declared_id: Callable[[], str | None]) -> ItemFailure:
    """An item that could not be mapped: an ItemError says why; any other exception is reported as such."""
    if isinstance(exc, ItemError):
        return ItemFailure(reason=str(exc), external_id=declared_id(), data=raw())
    return ItemFailure(
        reason=f"the item could not be read: {exc}", external_id=declared_id(), data=raw(), errors=[repr(exc)]
    )


def _raw_item(el: Any) -> str:
    """The item as it stood in the document, cut to MAX_RAW_ITEM_CHARS: what a failed item keeps."""
    return etree.tostring(el, encoding="unicode")[:MAX_RAW_ITEM_CHARS]


def parse_feed(
    path: str | os.PathLike[str], *, default_type: str = "movie", content_type: str | None = None
) -> FeedParse:
    """Check the document at `path` (the raw, decompressed response body) and return its items, to iterate.

    Raises UnsafeDocument when the document declares entities (checked on the bytes before the root element,
    before any parser runs) and UnreadableDocument when it is empty or has no element at all; iterating raises
    UnreadableDocument when the document turns out to be something other than a feed (an HTML page, say).
    `content_type` is the HTTP Content-Type; its charset is used when the document declares no encoding.
    """
    root = check_prolog(path, content_type)
    if root is None:
        with Path(path).open("rb") as file:
            raise UnreadableDocument(describe_unreadable(file.read(4096), None))
    if root.lower() == "html":
        raise UnreadableDocument(describe_unreadable(b"", "html"))
    return FeedParse(path, default_type=default_type, content_type=content_type, root=root)
