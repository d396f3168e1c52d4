"""Export formats: each turns a stream of asset batches into the bytes of one object, written as it goes.

An asset arrives in the JSON form of `data-agent assets show` (the asset model of DESIGN.md §4 plus the catalog's
id, service, source and bookkeeping). No format holds more than one batch at a time: memory stays flat however
large the catalog is.

- `ndjson`: one asset per line. `json`: one JSON array of assets.
- `csv`, `parquet`: one row per asset, flat columns (`COLUMNS`): scalars as they are, availability and geoblock
  split into columns, lists and objects (images, editions, credits…) as JSON text. Through pandas (and pyarrow
  for Parquet, typed: integers, dates, UTC timestamps; one row group per batch).
- `mrss`: a Media RSS 2.0 feed that `connectors.mrss.feed.parse_feed` reads back to the same assets, as far as Media
  RSS can say them (see `write_mrss`).
- `backstage-json`: the CMS's standardised JSON, an array of typed objects whose fields are the asset model's.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email.utils import format_datetime
from functools import cache
from typing import IO, TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from ..model import Asset, asset_from_dict, asset_to_dict, isoformat

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# pandas and pyarrow are imported where the tabular formats need them: together they add about 0.4 s to the
# start of every process that loads the Dagster definitions, most of which never write a table.

Batches = Iterable[list[dict[str, Any]]]


@dataclass(frozen=True)
class FeedInfo:
    """What a document says about itself: the service, a title (the feed's channel title) and a link."""

    service: str
    title: str
    link: str


@dataclass(frozen=True)
class Format:
    name: str
    extension: str
    content_type: str
    write: Callable[[Batches, IO[bytes], FeedInfo], int]  # returns the number of assets written


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- JSON ------------------------------------------------------------------------------------------------------


def write_ndjson(batches: Batches, sink: IO[bytes], info: FeedInfo) -> int:
    count = 0
    for batch in batches:
        sink.write("".join(_dumps(asset) + "\n" for asset in batch).encode())
        count += len(batch)
    return count


def _json_array(objects: Iterator[dict[str, Any]], sink: IO[bytes]) -> int:
    """`[`, the objects separated by `,\\n`, `]`: a JSON array written one element at a time."""
    count = 0
    sink.write(b"[")
    for value in objects:
        sink.write((",\n" if count else "\n").encode() + _dumps(value).encode())
        count += 1
    sink.write(b"\n]\n")
    return count


def write_json(batches: Batches, sink: IO[bytes], info: FeedInfo) -> int:
    return _json_array((asset for batch in batches for asset in batch), sink)


def backstage_object(asset: Asset) -> dict[str, Any]:
    """One asset as a typed object of the standardised JSON: `type`, `external_id`, the model's fields.

    The series an episode belongs to is named by `series_label`, as the CMS's format does.
    """
    values = asset_to_dict(asset)
    series = values.pop("series")
    out = {"type": values.pop("type"), "external_id": values.pop("external_id"), **values}
    if series is not None:
        out["series_label"] = series
    return out


def write_backstage_json(batches: Batches, sink: IO[bytes], info: FeedInfo) -> int:
    return _json_array((backstage_object(asset_from_dict(a)) for batch in batches for a in batch), sink)


# --- flat tables -----------------------------------------------------------------------------------------------

COLUMNS = (
    "id",
    "service",
    "source_id",
    "external_id",
    "type",
    "status",
    "title",
    "description",
    "short_description",
    "duration",
    "release_date",
    "published_at",
    "availability_start",
    "availability_end",
    "series",
    "season",
    "episode",
    "geoblock_mode",
    "geoblock_countries",
    "tags",
    "genres",
    "images",
    "credits",
    "ratings",
    "editions",
    "custom",
    "edited_fields",
    "content_hash",
    "created_at",
    "updated_at",
    "last_imported_at",
)
_JSON_COLUMNS = ("tags", "genres", "images", "credits", "ratings", "editions", "custom", "edited_fields")
_INT_COLUMNS = ("duration", "season", "episode")
_TIME_COLUMNS = ("published_at", "availability_start", "availability_end", "created_at", "updated_at")
_TIME_COLUMNS += ("last_imported_at",)


@cache
def parquet_schema() -> pa.Schema:
    """The Parquet schema of `COLUMNS`: integers, a date, UTC timestamps, text for the rest."""
    import pyarrow as pa

    def column_type(name: str) -> pa.DataType:
        if name in _INT_COLUMNS:
            return pa.int64()
        if name == "release_date":
            return pa.date32()
        if name in _TIME_COLUMNS:
            return pa.timestamp("us", tz="UTC")
        return pa.string()

    return pa.schema([(name, column_type(name)) for name in COLUMNS])


def flat_row(asset: dict[str, Any]) -> dict[str, Any]:
    """One asset as flat columns: availability and geoblock split, lists and objects as JSON text."""
    row = {name: asset.get(name) for name in COLUMNS if name in asset}
    availability = asset.get("availability") or {}
    row["availability_start"] = availability.get("start")
    row["availability_end"] = availability.get("end")
    geoblock = asset.get("geoblock") or {}
    mode = next(iter(geoblock), None)
    row["geoblock_mode"] = mode
    row["geoblock_countries"] = ",".join(geoblock[mode]) if mode else None
    for name in _JSON_COLUMNS:
        row[name] = _dumps(asset.get(name) or ([] if name != "custom" else {}))
    return row


def flat_frame(batch: list[dict[str, Any]]) -> pd.DataFrame:
    """A batch as a DataFrame with the columns of `COLUMNS`, in order; integers stay integers (nullable)."""
    import pandas as pd

    frame = pd.DataFrame([flat_row(asset) for asset in batch], columns=list(COLUMNS))
    for name in _INT_COLUMNS:
        frame[name] = frame[name].astype("Int64")
    return frame


def write_csv(batches: Batches, sink: IO[bytes], info: FeedInfo) -> int:
    count = 0
    text = io.TextIOWrapper(sink, encoding="utf-8", newline="", write_through=True)  # type: ignore[arg-type]
    try:
        for batch in batches:
            flat_frame(batch).to_csv(text, header=count == 0, index=False, lineterminator="\r\n")
            count += len(batch)
        if count == 0:
            import pandas as pd

            pd.DataFrame(columns=list(COLUMNS)).to_csv(text, index=False, lineterminator="\r\n")
        text.flush()
    finally:
        text.detach()  # the sink is the caller's to close
    return count


def _parquet_table(batch: list[dict[str, Any]]) -> pa.Table:
    import pandas as pd
    import pyarrow as pa

    frame = flat_frame(batch)
    for name in _TIME_COLUMNS:
        frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601")
    frame["release_date"] = pd.to_datetime(frame["release_date"], format="ISO8601").dt.date
    return pa.Table.from_pandas(frame, schema=parquet_schema(), preserve_index=False)


def write_parquet(batches: Batches, sink: IO[bytes], info: FeedInfo) -> int:
    import pyarrow.parquet as pq

    count = 0
    with pq.ParquetWriter(sink, parquet_schema(), compression="zstd") as writer:
        for batch in batches:
            writer.write_table(_parquet_table(batch))
            count += len(batch)
    return count


# --- Media RSS -------------------------------------------------------------------------------------------------

MEDIA_NS = "http://search.yahoo.com/mrss/"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
DCTERMS_NS = "http://purl.org/dc/terms/"
# Prefixes the Media RSS importer knows; a custom key `prefix:name` with one of them is written in its namespace.
_NAMESPACES = {
    "media": MEDIA_NS,
    "itunes": ITUNES_NS,
    "dcterms": DCTERMS_NS,
    "dc": "http://purl.org/dc/elements/1.1/",
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "yt": "http://www.youtube.com/xml/schemas/2015",
    "googleplay": "http://www.google.com/schemas/play-podcasts/1.0",
    "podcast": "https://podcastindex.org/namespace/1.0",
}
_ROOT_NAMESPACES = ("media", "itunes", "dcterms")
# Custom keys the importer would read as something else than a custom value (they have a meaning in RSS).
_MEDIA_READ = "title description thumbnail credit rating restriction category keywords subTitle player content group"
_ITUNES_READ = "title subtitle summary duration image author category explicit keywords episode season episodeType"
_ATOM_READ = "title summary content id link published updated author"
_RESERVED_KEYS = frozenset(
    (
        *["title", "description", "guid", "pubDate", "category", "enclosure", "item", "source"],
        *(f"media:{name}" for name in _MEDIA_READ.split()),
        *(f"itunes:{name}" for name in _ITUNES_READ.split()),
        *(f"atom:{name}" for name in _ATOM_READ.split()),
        *["dcterms:valid", "dcterms:date", "dc:date", "dc:creator", "content:encoded"],
    )
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    return escape(_XML_INVALID.sub("", str(value)))


def _attr(value: Any) -> str:
    return quoteattr(_XML_INVALID.sub("", str(value)))


def _element(tag: str, text: Any, **attributes: Any) -> str:
    attrs = "".join(f" {name.rstrip('_')}={_attr(v)}" for name, v in attributes.items() if v is not None)
    if text is None:
        return f"<{tag}{attrs}/>"
    return f"<{tag}{attrs}>{_text(text)}</{tag}>"


def _custom_element(key: str, value: str, extra_namespaces: dict[str, str]) -> str | None:
    """A custom key/value as the simple element the importer reads back as the same key, or None if none can."""
    prefix, _, local = key.rpartition(":")
    if key in _RESERVED_KEYS or not _NAME.match(local) or (prefix and not _NAME.match(prefix)):
        return None
    if prefix.lower().startswith("xml") or (not prefix and local.lower().startswith("xml")):
        return None
    if prefix and prefix not in _ROOT_NAMESPACES:
        extra_namespaces[prefix] = _NAMESPACES.get(prefix, f"urn:data-agent:custom:{prefix}")
    return _element(key, value)


def _stream(stream: Any, **extra: Any) -> dict[str, Any]:
    return {
        "url": stream.url,
        "type": stream.mime,
        "bitrate": stream.bitrate,
        "width": stream.width,
        "height": stream.height,
        "isDefault": "true" if stream.default else None,
        **extra,
    }


def mrss_item(asset: Asset) -> str:
    """One asset as an RSS `<item>` with Media RSS and iTunes elements.

    What Media RSS cannot say is left out, and so does not come back on import: stream `drm` and `drm_data`, the
    `expires` of a link and a subtitle's `forced`, a stream type the MIME type or URL does not imply,
    `release_date`, `background` images (and a poster next to other images),
    the asset type except episode/trailer (the importer applies its source's default type), the series of an
    episode unless it is the channel title, and custom keys that are not XML names or mean something in RSS.
    """
    parts: list[str] = [_element("guid", asset.external_id, isPermaLink="false")]
    if asset.title is not None:
        parts.append(_element("title", asset.title))
    if asset.description is not None:
        parts.append(_element("description", asset.description))
    if asset.short_description is not None:
        parts.append(_element("itunes:subtitle", asset.short_description))
    if asset.published_at is not None:
        parts.append(_element("pubDate", format_datetime(asset.published_at, usegmt=True)))
    if asset.availability is not None and (asset.availability.start or asset.availability.end):
        period = [
            f"{k}={isoformat(v)}"
            for k, v in (("start", asset.availability.start), ("end", asset.availability.end))
            if v
        ]
        parts.append(_element("dcterms:valid", "; ".join([*period, "scheme=W3C-DTF"])))
    if asset.duration is not None:
        parts.append(_element("itunes:duration", asset.duration))
    if asset.type in ("episode", "trailer"):
        parts.append(_element("itunes:episodeType", "trailer" if asset.type == "trailer" else "full"))
        if asset.season is not None:
            parts.append(_element("itunes:season", asset.season))
        if asset.episode is not None:
            parts.append(_element("itunes:episode", asset.episode))
    parts.extend(_element("category", tag) for tag in asset.tags)
    parts.extend(_element("media:category", genre) for genre in asset.genres)
    parts.extend(_element("media:credit", c.name, role=c.role) for c in asset.credits)
    parts.extend(_element("media:rating", r.value, scheme=r.scheme) for r in asset.ratings)
    if asset.geoblock is not None and (asset.geoblock.countries or asset.geoblock.mode == "allow"):
        countries = " ".join(asset.geoblock.countries) or "none"
        parts.append(_element("media:restriction", countries, relationship=asset.geoblock.mode, type="country"))
    parts.extend(_images(asset))
    parts.extend(_editions(asset))
    extra_namespaces: dict[str, str] = {}
    for key, value in asset.custom.items():
        if not value.strip():
            continue
        if key == "link":
            parts.append(_element("link", value))
        elif key == "player_url":
            parts.append(_element("media:player", None, url=value))
        else:
            element = _custom_element(key, value, extra_namespaces)
            if element is not None:
                parts.append(element)
    declarations = "".join(f" xmlns:{p}={_attr(ns)}" for p, ns in sorted(extra_namespaces.items()))
    return f"<item{declarations}>" + "".join(parts) + "</item>\n"


def _images(asset: Asset) -> list[str]:
    thumbnails = [i for i in asset.images if i.role == "thumbnail"]
    stills = [i for i in asset.images if i.role == "still"]
    out = [_element("media:thumbnail", None, url=i.url, width=i.width, height=i.height) for i in thumbnails]
    out += [_element("media:content", None, url=i.url, medium="image", width=i.width, height=i.height) for i in stills]
    posters = [i for i in asset.images if i.role == "poster"]
    if not out and posters:
        out.append(_element("itunes:image", None, href=posters[0].url))
    return out


def _editions(asset: Asset) -> list[str]:
    full = next((e for e in asset.editions if e.name == "full"), None)
    trailer = next((e for e in asset.editions if e.name == "trailer"), None)
    inner: list[str] = []
    if full is not None:
        inner += [_element("media:content", None, **_stream(s, expression="full")) for s in full.streams]
        inner += [_element("media:subTitle", None, href=t.url, lang=t.language, type=t.label) for t in full.subtitles]
    if trailer is not None:
        subtitles = "".join(
            _element("media:subTitle", None, href=t.url, lang=t.language, type=t.label) for t in trailer.subtitles
        )
        for position, stream in enumerate(trailer.streams):
            attributes = "".join(
                f" {k}={_attr(v)}" for k, v in _stream(stream, expression="sample").items() if v is not None
            )
            inner.append(f"<media:content{attributes}>{subtitles if position == 0 else ''}</media:content>")
    return [f"<media:group>{''.join(inner)}</media:group>"] if inner else []


def write_mrss(batches: Batches, sink: IO[bytes], info: FeedInfo) -> int:
    namespaces = "".join(f" xmlns:{p}={_attr(_NAMESPACES[p])}" for p in _ROOT_NAMESPACES)
    sink.write(
        (
            f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"{namespaces}>\n<channel>\n'
            f"{_element('title', info.title)}\n{_element('link', info.link)}\n"
            f"{_element('description', f'Catalog of the service {info.service}')}\n"
        ).encode()
    )
    count = 0
    for batch in batches:
        sink.write("".join(mrss_item(asset_from_dict(asset)) for asset in batch).encode())
        count += len(batch)
    sink.write(b"</channel>\n</rss>\n")
    return count


FORMATS: dict[str, Format] = {
    "ndjson": Format("ndjson", "ndjson", "application/x-ndjson", write_ndjson),
    "json": Format("json", "json", "application/json", write_json),
    "csv": Format("csv", "csv", "text/csv; charset=utf-8", write_csv),
    "parquet": Format("parquet", "parquet", "application/vnd.apache.parquet", write_parquet),
    "mrss": Format("mrss", "xml", "application/rss+xml; charset=utf-8", write_mrss),
    "backstage-json": Format("backstage-json", "json", "application/json", write_backstage_json),
}
