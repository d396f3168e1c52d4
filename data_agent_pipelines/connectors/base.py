"""What every connector provides: fetch what the origin has, then parse it into model values, one item at a time."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..model import Asset, ItemFailure, KnownAsset, Source
from ..net import Download, HttpClient
from .spec import DEFAULT_TIMEOUT_SECONDS


@dataclass
class Fetched:
    """What a fetch brought back: a document on disk, or word that the origin has not changed."""

    path: Path | None
    not_modified: bool = False
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    digest: str | None = None
    size: int = 0
    url: str | None = None
    complete: bool = True  # False when a paginated fetch stopped early
    notes: list[str] = field(default_factory=list)
    # The source's sync state to save when this import succeeds (incremental cursors); None leaves it as it was.
    sync_state: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class KnownItem:
    """An item whose raw form has the origin digest an earlier import stored with its asset: not mapped again.

    A connector that can digest its raw items (`SkipsKnownItems`) yields this instead of an Asset when the digest
    is one it was told about. The digest covers everything the mapping reads (the item, the document-level
    defaults it inherits, the source's asset type and the version of the mapping code), so the same digest means
    the same asset.
    """

    external_id: str
    origin_digest: str


class Parse(Protocol):
    """The items of one fetch. `complete` and `notes` are final once iteration has finished."""

    parser: str
    notes: list[str]
    complete: bool

    def __iter__(self) -> Iterator[Asset | ItemFailure | KnownItem]: ...


@runtime_checkable
class SkipsKnownItems(Protocol):
    """A parse that digests its raw items, can skip mapping the known ones and sets `Asset.origin_digest`."""

    def skip_known(self, known: Mapping[str, KnownAsset]) -> None:
        """Yield a KnownItem for an item whose digest is a key of `known` (the asset it was imported into)."""


class Connector(Protocol):
    kind: str

    def fetch(self, source: Source, http: HttpClient, workdir: Path) -> Fetched: ...

    def parse(self, source: Source, fetched: Fetched) -> Parse: ...


class ConnectorUnavailable(Exception):
    """The source's kind is not one this version can import."""


def source_timeout(source: Source) -> float:
    """The total fetch deadline of a source (`--option timeout=SECONDS`)."""
    return float(source.options.get("timeout") or DEFAULT_TIMEOUT_SECONDS)


def download_document(source: Source, http: HttpClient, workdir: Path) -> Fetched:
    """Fetch a single-document origin (a feed) to disk with a conditional GET."""
    download: Download = http.download(
        source.url,
        workdir / "document",
        etag=source.etag,
        last_modified=source.last_modified,
        timeout=source_timeout(source),
    )
    return Fetched(
        path=download.path,
        not_modified=download.not_modified,
        content_type=download.content_type,
        etag=download.etag,
        last_modified=download.last_modified,
        digest=download.sha256,
        size=download.size,
        url=download.url,
    )
