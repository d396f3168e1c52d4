"""Assets for export tests, written straight into the catalog's tables (as an import would leave them)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert

from data_agent_pipelines.catalog.schema import assets, sources
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.model import (
    ASSET_FIELDS,
    Asset,
    Availability,
    Credit,
    Edition,
    Geoblock,
    Image,
    Rating,
    Stream,
    Subtitle,
    asset_to_dict,
    field_to_json,
)

CHANNEL_TITLE = "The Show"
_JSON = ("availability", "images", "tags", "genres", "credits", "ratings", "geoblock", "editions", "custom")
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def movie(n: int) -> Asset:
    """A movie with every field Media RSS can carry set."""
    return Asset(
        external_id=f"movie-{n:06d}",
        type="movie",
        title=f"Movie «{n}» & friends",
        description=f"A long description of movie {n}.\nWith <two> lines.",
        short_description="Short",
        duration=5400 + n,
        published_at=datetime(2024, 3, 1, 10, 30, 15, tzinfo=UTC),
        availability=Availability(start=datetime(2024, 3, 1, tzinfo=UTC), end=datetime(2030, 1, 1, tzinfo=UTC)),
        images=[
            Image("https://img.example.com/thumb.jpg", "thumbnail", 320, 180),
            Image(f"https://img.example.com/{n}/still.jpg", "still", 1920, 1080),
        ],
        tags=["drama", "tag, with comma"],
        genres=["Drama", "Thriller"],
        credits=[Credit("Ada Lovelace", "director"), Credit("Alan Turing", "actor")],
        ratings=[Rating("PG-13", "urn:mpaa"), Rating("12", "urn:fsk")],
        geoblock=Geoblock("deny", ["CU", "KP"]),
        editions=[
            Edition(
                "full",
                streams=[
                    Stream(
                        f"https://cdn.example.com/{n}/a.m3u8",
                        "hls",
                        "application/x-mpegURL",
                        bitrate=4000,
                        width=1920,
                        height=1080,
                        default=True,
                    ),
                    Stream(f"https://cdn.example.com/{n}/a.mpd", "dash", "application/dash+xml"),
                ],
                subtitles=[Subtitle(f"https://cdn.example.com/{n}/a.en.vtt", "en", "English")],
            ),
            Edition(
                "trailer",
                streams=[Stream(f"https://cdn.example.com/{n}/t.mp4", "mp4", "video/mp4", bitrate=800)],
                subtitles=[Subtitle(f"https://cdn.example.com/{n}/t.de.vtt", "de", "Deutsch")],
            ),
        ],
        custom={
            "studio": "ACME",
            "player_url": f"https://player.example.com/{n}",
            "link": f"https://www.example.com/movies/{n}",
            "media:license": "CC-BY",
            "acme:rights": "worldwide",
        },
    )


def episode(n: int) -> Asset:
    return Asset(
        external_id=f"episode-{n:06d}",
        type="episode",
        title=f"Episode {n}",
        duration=1325,
        images=[Image("https://img.example.com/poster.jpg", "poster")],
        geoblock=Geoblock("allow", ["US", "CA"]),
        editions=[Edition("full", streams=[Stream(f"https://cdn.example.com/e{n}.mp4", "mp4", "video/mp4")])],
        series=CHANNEL_TITLE,
        season=2,
        episode=n,
    )


def clip(n: int) -> Asset:
    """A clip with fields only the JSON formats carry (release date, drm, background image)."""
    return Asset(
        external_id=f"clip-{n:06d}",
        type="clip",
        title=f"Clip {n}",
        release_date=date(2024, 2, 29),
        images=[Image("https://img.example.com/bg.jpg", "background")],
        editions=[Edition("full", streams=[Stream("https://cdn.example.com/c.mpd", "dash", drm="widevine")])],
    )


def add_source(catalog: Catalog, service: str, source_id: str) -> None:
    with catalog.engine.begin() as conn:
        conn.execute(
            insert(sources).values(
                id=source_id,
                service=service,
                name=source_id,
                kind="mrss",
                url=f"https://feeds.example.com/{source_id}.xml",
                every_seconds=3600,
                truth="importer",
                on_missing="keep",
                max_removal_fraction=0.2,
                asset_type="movie",
                options={},
                enabled=True,
                created_at=NOW,
                updated_at=NOW,
            )
        )


def asset_row(service: str, source_id: str | None, asset: Asset, asset_id: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": asset_id,
        "service": service,
        "source_id": source_id,
        "external_id": asset.external_id,
        "status": "published",
        "content_hash": "0" * 32,
        "edited_fields": [],
        "created_at": NOW,
        "updated_at": NOW,
        "last_imported_at": NOW,
    }
    for name in ASSET_FIELDS:
        value = getattr(asset, name)
        row[name] = field_to_json(name, value) if name in _JSON else value
    return row


def seed(catalog: Catalog, service: str, source_id: str, items: list[Asset], *, first_id: int = 0) -> None:
    """Write `items` as assets of `source_id` (ids `ast_00000001`…, so export order is insertion order)."""
    rows = [asset_row(service, source_id, a, f"ast_{first_id + i:08d}") for i, a in enumerate(items)]
    with catalog.engine.begin() as conn:
        for start in range(0, len(rows), 2000):
            conn.execute(insert(assets), rows[start : start + 2000])


def model_dicts(items: list[Asset]) -> list[dict[str, Any]]:
    return [asset_to_dict(a) for a in items]
