"""The standardised JSON feed (`backstage-json`) and the standard custom keys, parsed and imported."""

from __future__ import annotations

import io
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


# --- the documented Backstage shape (docs.backstage-api.com: DAPI assets/metadata and assets/streams) -----------------

MOVIE = {
    "id": "9b2f6c1e-3f7d-4c8e-9d1a-2b5e8f0a7c31",  # Backstage's own id: the external id wins
    "external_id": "vod-42",
    "type": "movie",
    "label": "Night Train",
    "description": "A train, a night.",
    "short_description": "A train.",
    "images": {
        # A size as an object (url, width, height) and as a bare URL: the pages do not show one, both are read.
        "poster": [
            {"url": "https://img.example.com/poster-600.jpg", "width": 600, "height": 900},
            {"url": "https://img.example.com/poster-300.jpg", "width": 300, "height": 450},
        ],
        "still": ["https://img.example.com/still.jpg"],
        "background": [],
    },
    # Genre references; a name alone is read too.
    "genres": [{"label": "Drama"}, {"id": "g-7", "label": "Thriller"}, "Noir"],
    # Person references: the person's label or name, the role as text or as a reference.
    "crew": [
        {"label": "Ann Lee", "role": "Director"},
        {"person": {"name": "Bo Ek"}, "role": {"label": "Actor"}},
        {"label": "Cy Dahl"},
    ],
    "age_classification": {"types": [{"label": "Kijkwijzer", "value": "12"}]},
    "geoblock": {"allow": ["NL", "be"], "deny": []},
    "duration": 5400,
    "release_date": "2021-04-01",
    "rating": 78,
    "editions": [
        {
            "id": "ed-1",
            "asset_id": "9b2f6c1e-3f7d-4c8e-9d1a-2b5e8f0a7c31",
            "label": "Main",
            "editionType": "full",
            "streams": [
                {
                    "url": "https://cdn.example.com/42/master.m3u8",
                    "type": "hls",
                    "drm": "fairplay",
                    "data": {"certificate_url": "https://drm.example.com/fps.cer"},
                },
                {"url": "https://cdn.example.com/42/manifest.mpd", "type": "dash", "drm": "widevine"},
                {"url": "https://cdn.example.com/42/movie.ism/manifest", "type": "smoothstreaming", "drm": "playready"},
                {"url": "https://cdn.example.com/42/movie.mp4", "type": "mp4", "drm": "unencrypted"},
            ],
            "subtitles": [
                {"url": "https://cdn.example.com/42/nl.vtt", "label": "Nederlands", "language": "nl", "forced": False},
                {"url": "https://cdn.example.com/42/en-f.vtt", "label": "English", "language": "en", "forced": True},
            ],
        },
        {
            "id": "ed-2",
            "label": "Trailer",
            "editionType": "trailer",
            "streams": [{"url": "https://cdn.example.com/42/trailer.mp4", "type": "mp4", "drm": "unencrypted"}],
            "subtitles": [],
        },
    ],
}
DOCUMENTED = [
    MOVIE,
    {"external_id": "news-1", "type": "broadcast", "label": "Evening News"},
    {"external_id": "pod-1", "type": "podcast", "label": "Talk Show"},
    {"external_id": "ch-1", "type": "channel", "label": "Channel One"},
]


def test_the_documented_backstage_shape_is_read(tmp_path: Path) -> None:
    assets, failures, parse = parsed(tmp_path, DOCUMENTED)
    assert failures == [] and parse.notes == []
    movie = assets["vod-42"]
    assert (movie.title, movie.short_description, movie.duration) == ("Night Train", "A train.", 5400)
    assert [(i.role, i.url.rsplit("/", 1)[-1], i.width) for i in movie.images] == [
        ("poster", "poster-600.jpg", 600),
        ("poster", "poster-300.jpg", 300),
        ("still", "still.jpg", None),
    ]
    assert movie.genres == ["Drama", "Thriller", "Noir"]
    assert movie.credits == [Credit("Ann Lee", "Director"), Credit("Bo Ek", "Actor"), Credit("Cy Dahl")]
    assert (movie.geoblock.mode, movie.geoblock.countries) == ("allow", ["NL", "BE"])
    full, trailer = movie.editions
    assert (full.name, trailer.name) == ("full", "trailer")
    assert [(s.type, s.drm) for s in full.streams] == [
        ("hls", "fairplay"),
        ("dash", "widevine"),
        ("smooth", "playready"),
        ("mp4", None),
    ]
    assert full.streams[0].drm_data == {"certificate_url": "https://drm.example.com/fps.cer"}
    assert [(t.language, t.forced) for t in full.subtitles] == [("nl", False), ("en", True)]
    assert [s.url.rsplit("/", 1)[-1] for s in trailer.streams] == ["trailer.mp4"]  # not merged into the full edition
    assert json.loads(movie.custom["age_classification"]) == MOVIE["age_classification"]
    assert "label" not in movie.custom and "crew" not in movie.custom
    assert apply_standard_keys(movie) == [] and Rating("78", SCORE_SCHEME) in movie.ratings
    assert [(assets[i].type, assets[i].title) for i in ("news-1", "pod-1", "ch-1")] == [
        ("broadcast", "Evening News"),
        ("podcast", "Talk Show"),
        ("channel", "Channel One"),
    ]


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"geoblock": {"allow": ["NL"], "deny": ["BE"]}}, "geoblock", "fills both allow and deny"),
        ({"geoblock": {"allow": ["Netherlands"]}}, "geoblock", "ISO 3166 alpha-2"),
        ({"geoblock": {"block": ["NL"]}}, "geoblock", "only allow and deny"),
        ({"images": "https://img.example.com/a.jpg"}, "images", "an object of image lists"),
        ({"images": {"poster": [{"width": 600}]}}, "images", "the url of an image of images.poster"),
        ({"genres": [{"id": "g-1"}]}, "genres", "has no label or name"),
        ({"crew": [{"role": "Director"}]}, "credits", "has no label or name"),
        ({"editions": [{"editionType": "preview", "streams": []}]}, "editions", "is not one of full, trailer"),
        ({"editions": [{"streams": [{"url": "https://x.example/a.flv", "type": "flv"}]}]}, "editions", "'flv'"),
        ({"editions": [{"streams": [{"type": "hls"}]}]}, "editions", "streams[0].url must be non-empty text"),
        ({"editions": [{"streams": [{"url": "https://x.example/a.m3u8", "data": "k"}]}]}, "editions", ".data"),
        ({"editions": [{"subtitles": [{"url": "https://x.example/a.vtt", "forced": "yes"}]}]}, "editions", "forced"),
    ],
)
def test_a_broken_documented_value_fails_its_object_naming_the_field(
    tmp_path: Path, change: dict, field: str, error: str
) -> None:
    _assets, failures, _parse = parsed(tmp_path, [{**MOVIE, **change}, {"external_id": "ok", "label": "OK"}])
    (failure,) = failures
    assert failure.external_id == "vod-42" and failure.reason == f"invalid value of {field}"
    assert any(error in e for e in failure.errors), failure.errors
    assert failure.data  # the raw object, for the customer to find


def test_unknown_keys_of_a_stream_are_left_out_and_said(tmp_path: Path) -> None:
    edition = {"editionType": "full", "streams": [{"url": "https://x.example/a.m3u8", "type": "HLS", "codec": "h264"}]}
    assets, _failures, _parse = parsed(tmp_path, [{**MOVIE, "editions": [edition]}])
    movie = assets["vod-42"]
    assert movie.editions[0].streams[0].type == "hls"
    assert movie.notes == ["editions[0].streams[0]: ignored 'codec' (not a field of a stream or subtitle)"]


def test_the_projects_own_shape_is_still_read_beside_the_documented_one(tmp_path: Path) -> None:
    own = {
        "external_id": "own-1",
        "type": "movie",
        "title": "Own",
        "images": [{"url": "https://img.example.com/p.jpg", "role": "poster", "width": 600}],
        "genres": ["Drama"],
        "credits": [{"name": "Ann Lee", "role": "Director"}],
        "geoblock": {"allow": []},  # allowed nowhere: a single key keeps its meaning
        "editions": [
            {
                "name": "full",
                "streams": [{"url": "https://x.example/a.m3u8", "type": "hls", "default": True, "bitrate": 2000}],
                "subtitles": [{"url": "https://x.example/en.vtt", "language": "en", "label": "English"}],
            }
        ],
    }
    assets, failures, _parse = parsed(tmp_path, [own])
    asset = assets["own-1"]
    assert failures == [] and asset.title == "Own" and asset.images[0].role == "poster"
    assert asset.credits == [Credit("Ann Lee", "Director")] and asset.genres == ["Drama"]
    assert (asset.geoblock.mode, asset.geoblock.countries) == ("allow", [])
    stream = asset.editions[0].streams[0]
    assert (stream.type, stream.default, stream.bitrate) == ("hls", True, 2000)


def test_an_export_reads_back_to_the_same_assets(tmp_path: Path) -> None:
    from data_agent_pipelines.export.formats import FeedInfo, write_backstage_json
    from data_agent_pipelines.model import asset_to_dict

    source, _failures, _parse = parsed(tmp_path, DOCUMENTED)
    movie = source["vod-42"]
    movie.editions[0].subtitles[0].expires = datetime(2026, 11, 2, 12, tzinfo=UTC)
    movie.editions[0].streams[1].expires = datetime(2026, 11, 2, 12, tzinfo=UTC)
    originals = [asset_to_dict(asset) for asset in source.values()]
    sink = io.BytesIO()
    assert write_backstage_json([originals], sink, FeedInfo("acme", "Acme", "https://acme.example")) == 4
    document = tmp_path / "export.json"
    document.write_bytes(sink.getvalue())
    again = [asset_to_dict(item) for item in parse_backstage_json(document)]
    assert again == originals


def test_hostile_and_huge_documented_values_fail_alone_and_leave_the_asset_as_it_was(
    feed_server: FeedServer, catalog: Catalog, capsys
) -> None:
    catalog.add_service("acme")
    url = feed_server.serve("/feed.json", json.dumps(DOCUMENTED), content_type="application/json")
    source_id = add_source(catalog, "acme", SourceChanges(name="cms", kind="backstage-json", url=url)).id
    first = run_cli(capsys, "import", source_id, "--json").json()
    assert first["status"] == "succeeded" and first["counts"]["created"] == 4
    movie_id = next(i["asset_id"] for i in first["items"] if i["external_id"] == "vod-42")
    before = catalog.get_asset(movie_id)
    assert before["editions"][0]["streams"][0]["drm_data"] == {"certificate_url": "https://drm.example.com/fps.cer"}
    subtitles = before["editions"][0]["subtitles"]
    assert subtitles[1]["forced"] is True and "forced" not in subtitles[0]

    hostile_stream = {"url": "https://x.example/a.m3u8", "type": "hls", "data": {"key": "a\u0000b"}}
    huge_stream = {"url": "https://x.example/b.m3u8", "type": "hls", "data": {"pssh": "A" * 50_000}}
    broken = [
        {**MOVIE, "editions": [{"editionType": "full", "streams": [hostile_stream]}]},
        {**DOCUMENTED[1], "genres": [{"label": f"g{n}"} for n in range(5_000)]},
        {**DOCUMENTED[2], "editions": [{"editionType": "full", "streams": [huge_stream]}]},
        DOCUMENTED[3],
    ]
    feed_server.serve("/feed.json", json.dumps(broken), content_type="application/json")
    done = run_cli(capsys, "import", source_id, "--json")
    result = done.json()
    assert done.code == 0 and result["status"] == "partial", result
    reasons = {i["external_id"]: (i["outcome"], i["reason"]) for i in result["items"]}
    assert reasons["vod-42"] == (
        "failed",
        "editions[0].streams[0].drm_data holds characters no catalog can store (NUL or unpaired surrogates)",
    )
    assert reasons["news-1"] == ("failed", "genres has 5,000 entries; the limit is 100")
    assert reasons["pod-1"][0] == "failed" and "drm_data is 50,0" in reasons["pod-1"][1]
    assert reasons["ch-1"] == ("unchanged", None)
    assert catalog.get_asset(movie_id) == before
