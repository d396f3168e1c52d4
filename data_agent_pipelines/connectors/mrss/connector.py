"""The `mrss` source kind: one feed document, fetched with a conditional GET and parsed by `feed.parse_feed`."""

from __future__ import annotations

from pathlib import Path

from ...model import Source
from ...net import HttpClient
from ..base import Fetched, download_document
from ..spec import TIMEOUT, SourceKind
from .document import UnreadableDocument
from .feed import FeedParse, parse_feed


class MediaRssConnector:
    """The `mrss` source kind for `connectors.connector_for`: one feed document, parsed by `parse_feed`."""

    kind = "mrss"

    def fetch(self, source: Source, http: HttpClient, workdir: Path) -> Fetched:
        """Download the feed with a conditional GET (through `net`, the one HTTP client)."""
        return download_document(source, http, workdir)

    def parse(self, source: Source, fetched: Fetched) -> FeedParse:
        """The items of the fetched document, typed `source.asset_type` unless an item says otherwise."""
        if fetched.path is None:
            raise UnreadableDocument("nothing was fetched from the feed URL")
        return parse_feed(fetched.path, default_type=source.asset_type, content_type=fetched.content_type)


SPEC = SourceKind(
    kind="mrss",
    title="Media RSS",
    summary="a Media RSS, RSS 2.0 or Atom feed",
    connector=MediaRssConnector,
    local_files=True,
    options=(TIMEOUT,),
)
