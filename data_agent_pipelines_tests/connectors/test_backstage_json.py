"""The standardised JSON feed (`backstage-json`) and the standard custom keys, parsed and imported."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.connectors.backstage_json import UnreadableJson, parse_backstage_json
from data_agent_pipelines.connectors.standard_keys import SCORE_SCHEME, apply_standard_keys
from data_agent_pipelines.model import Asset, Credit, ItemFailure, Rating
from data_agent_pipelines.source_settings import SourceChanges, add_source

from ..clirunner import run_cli
from ..feeds import rss
from ..feedserver import FeedServer

FEED = [
    {"type": "series", "external_id": "s-1", "title": "The Show"},
    {"type": "series", "external_id": "s-2", "title": "Twin"},
    {"type": "series", "external_id": "s-3", "title": "Twin"},
    {
        "type": "episode",
        "id": "e-1",
        "title": "Pilot",
        "series_label": "The Show",
        "season": 1,
        "episode": 1,
        "duration": 1325,
        "release_date": "2024-02-29",
        "published_at": "2024-03-01T10:30:00Z",
        "availability": {"start": "2024-03-01T00:00:00Z", "end": None},
        "geoblock": {"deny": ["CU"]},
        "ratings": [{"scheme": "urn:fsk", "value": "12"}],
        "editions": [
            {
                "name": "full",
                "streams": [{"url": "https://cdn.example.com/e1.m3u8", "type": "hls", "default": True}],
                "subtitles": [{"url": "https://cdn.example.com/e1.en.vtt", "language": "en", "label": "English"}],
            },
            {"name": "trailer", "streams": [{"url": "https://cdn.example.com/e1-t.mp4", "type": "mp4"}]},
        ],
        "studio": "ACME",
    },
    {"type": "episode", "external_id": "e-2", "title": "Two", "series": {"id": "s-1"}},
    {"type": "episode", "external_id": "e-3", "title": "Three", "series": {"label": "Twin"}},
    {"type": "episode", "external_id": "e-4", "title": "Four", "series_label": "Spin-off"},
    {"type": "episode", "external_id": "e-5", "title": "Five", "series": {"external_id": "s-9", "label": "Later"}},
    {
        "type": "movie",
        "external_id": "m-1",
        "custom": {
            "description": "From the custom fields",
            "crew": "Jane Doe; Director, John Roe; Writer",
            "genres": "Drama, Comedy",
            "age_rating_type": "urn:bbfc",
            "age_rating_value": "15",
            "rating": "87",
            "duration": "01:02:03",
            "release_date": "2020-05-01",
            "year": "2020",
            "title": "Ignored: the native title wins",
        },
        "title": "Native title",
    },
    {"type": "webinar", "external_id": "x-1"},
    {"type": "movie", "title": "no id"},
    {"type": "movie", "external_id": "bad-date", "release_date": "yesterday"},
    "not an object",
]


def write(tmp_path: Path, payload: object) -> Path:
    path = tmp_path / "feed.json"
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return path


def parsed(tmp_path: Path, payload: object) -> tuple[dict[str, Asset], list[ItemFailure], object]:
    parse = parse_backstage_json(write(tmp_path, payload))
    items = list(parse)
    assets = {i.external_id: i for i in items if isinstance(i, Asset)}
    failures = [i for i in items if isinstance(i, ItemFailure)]
    return assets, failures, parse


def test_objects_map_to_the_asset_model(tmp_path: Path) -> None:
    assets, _failures, parse = parsed(tmp_path, FEED)
    episode = assets["e-1"]
    assert (episode.type, episode.title, episode.series, episode.season, episode.episode) == (
        "episode",
        "Pilot",
        "The Show",
        1,
        1,
    )
    assert episode.duration == 1325 and episode.release_date == date(2024, 2, 29)
    assert episode.published_at == datetime(2024, 3, 1, 10, 30, tzinfo=UTC)
    assert episode.availability.start == datetime(2024, 3, 1, tzinfo=UTC) and episode.availability.end is None
    assert (episode.geoblock.mode, episode.geoblock.countries) == ("deny", ["CU"])
    assert [e.name for e in episode.editions] == ["full", "trailer"]
    assert episode.editions[0].streams[0].default is True and episode.editions[0].subtitles[0].language == "en"
    assert episode.custom == {"studio": "ACME"}
    assert parse.complete and parse.notes == []


def test_series_references(tmp_path: Path) -> None:
    assets, _failures, _parse = parsed(tmp_path, FEED)
    assert assets["e-2"].series == "The Show"  # by id: the series' title
    assert assets["e-3"].series == "Twin"  # a label that matches two series: linked to the first, and it says so
    assert "matches 2 series (s-2, s-3)" in assets["e-3"].notes[0] and "labels are not unique" in assets["e-3"].notes[0]
    assert assets["e-4"].series == "Spin-off"  # a label with no series object: the series is created
    assert (assets["series:Spin-off"].type, assets["series:Spin-off"].title) == ("series", "Spin-off")
    assert assets["e-5"].series == "Later" and (assets["s-9"].type, assets["s-9"].title) == ("series", "Later")
    assert "series:The Show" not in assets  # an existing series is never created twice


def test_bad_objects_fail_alone_with_reasons(tmp_path: Path) -> None:
    _assets, failures, _parse = parsed(tmp_path, FEED)
    reasons = {f.external_id: f.reason for f in failures}
    assert reasons["x-1"].startswith("unknown type 'webinar'")
    assert reasons[None] in ("the object has no 'external_id' or 'id'", "an entry of the feed is not an object")
    assert reasons["bad-date"] == "invalid value of release_date"
    assert len(failures) == 4
    assert all(f.data for f in failures)


def test_standard_custom_keys_fill_empty_fields_and_native_fields_win(tmp_path: Path) -> None:
    assets, _failures, _parse = parsed(tmp_path, FEED)
    movie = assets["m-1"]
    warnings = apply_standard_keys(movie)
    assert warnings == []
    assert movie.title == "Native title" and movie.custom["title"] == "Ignored: the native title wins"
    assert movie.description == "From the custom fields"
    assert movie.credits == [Credit("Jane Doe", "Director"), Credit("John Roe", "Writer")]
    assert movie.genres == ["Drama", "Comedy"]
    assert Rating("15", "urn:bbfc") in movie.ratings and Rating("87", SCORE_SCHEME) in movie.ratings
    assert movie.duration == 3723 and movie.release_date == date(2020, 5, 1)
    assert movie.custom == {"title": "Ignored: the native title wins", "year": "2020"}


@pytest.mark.parametrize(
    ("custom", "warning"),
    [
        ({"duration": "long"}, "duration='long' is not seconds"),
        ({"release_date": "01/05/2020"}, "is not a YYYY-MM-DD date"),
        ({"rating": "187"}, "is not a number from 0 to 100"),
        ({"year": "20"}, "is not a four-digit year"),
    ],
)
def test_unreadable_standard_keys_stay_in_custom_with_a_warning(custom: dict, warning: str) -> None:
    asset = Asset("x", custom=dict(custom))
    warnings = apply_standard_keys(asset)
    assert len(warnings) == 1 and warning in warnings[0]
    assert asset.custom == custom


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("", "the document is empty"),
        ("<html><body>Sign in</body></html>", "an HTML page"),
        ("hello", "not JSON"),
    ],
)
def test_unreadable_documents(tmp_path: Path, payload: str, message: str) -> None:
    with pytest.raises(UnreadableJson, match=message):
        list(parse_backstage_json(write(tmp_path, payload)))


def test_object_with_items_and_a_document_cut_short(tmp_path: Path) -> None:
    assets, _failures, parse = parsed(tmp_path, {"items": FEED[:4]})
    assert set(assets) == {"s-1", "s-2", "s-3", "e-1"} and parse.complete
    text = json.dumps(FEED)
    assets, _failures, parse = parsed(tmp_path, text[: text.index('"e-2"') + 3])
    assert "e-1" in assets and "e-2" not in assets
    assert parse.complete is False and "not complete JSON" in parse.notes[0]


def test_standard_keys_in_media_rss_custom_elements(feed_server: FeedServer, catalog: Catalog, capsys) -> None:
    body = rss(
        """<item><guid>m1</guid><title>Native</title>
        <crew>Jane Doe; Director</crew><genres>Drama, Comedy</genres><age_rating_type>urn:bbfc</age_rating_type>
        <age_rating_value>15</age_rating_value><duration>90</duration><release_date>2020-05-01</release_date>
        </item>"""
    )
    url = feed_server.serve("/feed.xml", body)
    catalog.add_service("acme")
    source_id = add_source(catalog, "acme", SourceChanges(name="f", kind="mrss", url=url)).id
    result = run_cli(capsys, "import", source_id, "--json").json()
    asset = catalog.get_asset(result["items"][0]["asset_id"])
    assert asset["credits"] == [{"name": "Jane Doe", "role": "Director"}]
    assert asset["genres"] == ["Drama", "Comedy"] and asset["duration"] == 90
    assert {"scheme": "urn:bbfc", "value": "15"} in asset["ratings"] and asset["release_date"] == "2020-05-01"
    assert not {"crew", "genres", "duration", "release_date"} & set(asset["custom"])


def test_import_end_to_end(feed_server: FeedServer, catalog: Catalog, capsys) -> None:
    url = feed_server.serve("/feed.json", json.dumps(FEED), content_type="application/json")
    catalog.add_service("acme")
    source_id = add_source(catalog, "acme", SourceChanges(name="cms", kind="backstage-json", url=url)).id
    done = run_cli(capsys, "import", source_id, "--json")
    result = done.json()
    assert done.code == 0 and result["status"] == "partial"
    assert result["counts"]["created"] == 11 and result["counts"]["failed"] == 4  # 9 objects + 2 series made
    e3 = next(i for i in result["items"] if i["external_id"] == "e-3")
    assert "labels are not unique" in e3["reason"]
    created_series = catalog.get_asset(
        next(i for i in result["items"] if i["external_id"] == "series:Spin-off")["asset_id"]
    )
    assert created_series["type"] == "series"
    again = run_cli(capsys, "import", source_id, "--json").json()
    assert again["status"] == "unchanged"
