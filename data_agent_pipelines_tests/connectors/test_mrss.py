"""The Media RSS connector: the shared corpus, our own fixtures for each rule, hostile documents, and properties."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from data_agent_pipelines.connectors.base import Fetched
from data_agent_pipelines.connectors.mrss import values
from data_agent_pipelines.connectors.mrss.document import UnreadableDocument, UnsafeDocument
from data_agent_pipelines.connectors.mrss.feed import FeedParse, parse_feed
from data_agent_pipelines.connectors.mrss.values import parse_availability, parse_date, parse_duration
from data_agent_pipelines.connectors.registry import connector_for
from data_agent_pipelines.connectors.streams import stream_type
from data_agent_pipelines.model import (
    Asset,
    Availability,
    Credit,
    Edition,
    Geoblock,
    Image,
    ItemFailure,
    Rating,
    Source,
    Stream,
    Subtitle,
)

from ..conftest import corpus

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "data_agent_pipelines_tests" / "fixtures" / "mrss"
DEMO_FEED = PROJECT / "data_agent_pipelines" / "sample_data" / "demo_feed.xml"

NAMESPACES = (
    'xmlns:media="http://search.yahoo.com/mrss/" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
    'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dc="http://purl.org/dc/elements/1.1/"'
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def read(path: Path, **kwargs: str) -> tuple[FeedParse, list[Asset | ItemFailure]]:
    parse = parse_feed(path, **kwargs)
    return parse, list(parse)


def read_text(tmp_path: Path, document: str | bytes, **kwargs: str) -> tuple[FeedParse, list[Asset | ItemFailure]]:
    path = tmp_path / "feed.xml"
    path.write_bytes(document.encode() if isinstance(document, str) else document)
    return read(path, **kwargs)


def rss(items: str, channel: str = "") -> str:
    head = f'<?xml version="1.0"?><rss version="2.0" {NAMESPACES}>'
    return f"{head}<channel><title>T</title>{channel}{items}</channel></rss>"


def only_asset(tmp_path: Path, items: str, channel: str = "", **kwargs: str) -> Asset:
    _, found = read_text(tmp_path, rss(items, channel), **kwargs)
    assert len(found) == 1 and isinstance(found[0], Asset), found
    return found[0]


# --- the shared corpus: feed-rs ----------------------------------------------------------------------------------


def test_channel9_mixed_group_is_one_edition() -> None:
    parse, (asset,) = read(corpus("feed-rs", "rss_2.0_ch9.xml"))
    assert parse.parser == "lxml" and parse.complete and parse.notes == []
    assert asset.external_id.startswith("https://channel9.msdn.com/Shows/Azure-Friday/Troubleshoot-AKS")
    assert [edition.name for edition in asset.editions] == ["full"]
    streams = asset.editions[0].streams
    assert [stream.type for stream in streams] == ["mp4", "mp3", "mp4", "mp4", "mp4", "other"]
    assert streams[5].url.startswith("https://www.youtube-nocookie.com/embed/") and streams[5].mime is None
    assert all("azfr663_high.mp4" not in s.url or s.mime == "video/mp4" for s in streams)  # enclosure not added
    assert len(streams) == 6
    assert asset.duration == 867
    assert asset.published_at == utc(2021, 2, 26, 20, 0, 0)
    assert [(i.width, i.height, i.role) for i in asset.images] == [
        (100, 56, "thumbnail"),
        (220, 123, "thumbnail"),
        (512, 288, "thumbnail"),
        (960, 540, "thumbnail"),
    ]
    assert asset.tags == ["Azure", "Kubernetes", "aft"]
    assert asset.genres == ["Technology"]
    assert asset.credits == [Credit(name="Scott Hanselman, Rob Caron", role="author")]
    assert asset.ratings == [Rating(value="clean", scheme="urn:itunes:explicit")]
    assert asset.custom["slash:comments"] == "0"
    assert asset.custom["comments"].endswith("AKS-Periscope")


def test_vimeo_content_without_url_keeps_its_children() -> None:
    _, (asset,) = read(corpus("feed-rs", "rss_2.0_vimeo_media.xml"))
    assert asset.external_id == "tag:vimeo,2024-09-27:clip1013595996"
    assert asset.editions == []
    assert asset.duration == 610
    assert asset.images == [
        Image(
            url="https://i.vimeocdn.com/video/1931613648-ea51f2799c4a4a4e058ed673e5587a0449778336fb866fad28a1ef"
            "7703a848dc-d_960",
            role="thumbnail",
            width=960,
            height=540,
        )
    ]
    assert asset.credits == [Credit(name="Failla Wines", role="author")]
    assert asset.custom["player_url"] == "https://player.vimeo.com/video/1013595996?h=b1b80eff69"
    assert asset.published_at == utc(2024, 9, 27, 16, 29, 11)


def test_youtube_atom_group_and_video_id() -> None:
    _, (asset,) = read(corpus("feed-rs", "atom_mediarss_youtube_1.xml"))
    assert asset.external_id == "yt:video:0A1ouV7iD8o"
    assert asset.title == "Navigating with Quantum Entanglement"
    assert asset.description.startswith(
        "Check Out Weathered on PBS Terra https://www.youtube.com/watch?v=znSN7ZFIaOg&ab"
    )
    assert asset.custom["yt:videoId"] == "0A1ouV7iD8o"
    assert asset.custom["link"] == "https://www.youtube.com/watch?v=0A1ouV7iD8o"
    assert asset.images == [Image("https://i1.ytimg.com/vi/0A1ouV7iD8o/hqdefault.jpg", "thumbnail", 480, 360)]
    assert asset.editions == [
        Edition(
            name="full",
            streams=[
                Stream(
                    url="https://www.youtube.com/v/0A1ouV7iD8o?version=3",
                    type="other",
                    mime="application/x-shockwave-flash",
                    width=640,
                    height=390,
                )
            ],
        )
    ]
    assert asset.published_at == utc(2020, 12, 22, 19, 15, 1)
    assert asset.credits == [Credit(name="PBS Space Time", role="author")]


def test_newscred_atom_image_content() -> None:
    _, (asset,) = read(corpus("feed-rs", "atom_mediarss_newscred_1.xml"))
    assert asset.external_id == "75ffea6b731bb4534f3138fd6b726791"
    assert asset.description == "Some text"  # the image's own media:description does not describe the asset
    assert [image.role for image in asset.images] == ["thumbnail", "still"]
    assert asset.images[1].width == 2048 and asset.images[1].height == 1365
    assert asset.editions == []
    assert asset.published_at == utc(2019, 4, 5, 21, 4, 40)


def test_nbc_non_rfc_pub_date() -> None:
    _, (asset,) = read(corpus("feed-rs", "rss_2.0_nbcny.xml"))
    assert asset.external_id == "4956764"
    assert asset.published_at == utc(2023, 12, 16, 14, 2, 33)  # "Sat, Dec 16 2023 02:02:33 PM", no zone: UTC
    assert asset.tags == ["post"]
    assert asset.credits == [Credit(name="Gaby Acevedo and Jessica Cunnington", role="author")]
    assert asset.images[0].role == "poster"  # the channel <image>, as a fallback
    assert asset.description.startswith("<p>A young man was left for dead")


def test_spreaker_podcast_episode() -> None:
    _, (asset,) = read(corpus("feed-rs", "rss_2.0_spreaker.xml"))
    assert asset.external_id == "https://api.spreaker.com/episode/46395247"
    assert asset.type == "episode"
    assert asset.series == "Lwowska Fala | Radio Katowice"
    assert asset.season is None and asset.episode is None
    assert asset.duration == 3079
    assert asset.tags == ["fala", "kresy", "lwow", "lwowska"]
    assert asset.genres == ["Society & Culture"]
    assert asset.short_description.startswith("W audycji: Pamięć września 1939.")
    assert asset.editions[0].streams == [
        Stream(
            url="https://api.spreaker.com/download/episode/46395247/09_05_dopo_8_10_lwowska_fala.mp3",
            type="mp3",
            mime="audio/mpeg",
        )
    ]
    assert [image.role for image in asset.images] == ["poster"]
    assert asset.credits == [Credit(name="Radio Katowice S.A.", role="author")]


def test_anchor_podcast_episode_numbers() -> None:
    _, (asset,) = read(corpus("feed-rs", "rss_2.0_anchorfm.xml"))
    assert asset.external_id == "2fea9218-f154-47be-a501-0a78ea2f36f8"
    assert (asset.type, asset.season, asset.episode) == ("episode", 1, 7)
    assert asset.duration == 37 * 60 + 7
    assert asset.genres == ["Kids & Family", "Parenting"]
    assert asset.editions[0].streams[0].type == "mp4"  # audio/x-m4a
    assert asset.ratings == [Rating(value="clean", scheme="urn:itunes:explicit")]


# --- the shared corpus: feedparser's media-rss set, each Expect line in our model ----------------------------------

MEDIA_RSS_EXPECTATIONS = {
    # tags[0].label == 'lab1': the category text is the genre (the label is used when there is no text)
    "item_media_category_label.xml": lambda a: a.genres == ["cat1"],
    # len(tags) == 2 and tags[1].term == 'cat2'
    "item_media_category_multiple.xml": lambda a: a.genres == ["cat1", "cat2"],
    # tags[0].scheme == default MRSS scheme; schemes are not part of our genres
    "item_media_category_scheme1.xml": lambda a: a.genres == ["cat1"],
    "item_media_category_scheme2.xml": lambda a: a.genres == ["cat1"],
    "item_media_category_term.xml": lambda a: a.genres == ["cat1"],
    "item_media_title1.xml": lambda a: a.title == "bar",
    "item_media_title2.xml": lambda a: a.title == "foo",
    "item_media_title3.xml": lambda a: a.title == "foo",
    "item_media_title_type_plain.xml": lambda a: a.title == "plain means text/plain",
    "media_group.xml": lambda a: (
        a.description == "Test Description"
        and a.credits == [Credit("Creator", "creator"), Credit("Writer", "writer")]
        and a.geoblock == Geoblock("allow", ["AU", "US"])
        and a.custom["media:license"] == "License"
        and a.ratings == [Rating("adult", "urn:simple")]
        and a.title == "Example Atom"
    ),
    "media_player1.xml": lambda a: a.custom["player_url"] == "http://www.example.com/" and a.editions == [],
    "media_thumbnail.xml": lambda a: a.images == [Image("http://example.com/thumbnail.jpg", "thumbnail", 72, 72)],
}


# These items carry nothing but a category: no id can be derived, so they fail as items (the identity rule).
WITHOUT_ID = {name for name in MEDIA_RSS_EXPECTATIONS if name.startswith("item_media_category_")}


@pytest.mark.parametrize("name", sorted(MEDIA_RSS_EXPECTATIONS))
def test_feedparser_media_rss(name: str, tmp_path: Path) -> None:
    path = corpus("feedparser", "media-rss", name)
    parse, found = read(path)
    assert parse.parser == "lxml" and parse.complete  # "not bozo"
    assert len(found) == 1
    if name in WITHOUT_ID:
        assert isinstance(found[0], ItemFailure) and "no guid, id or link" in found[0].reason
        # The same item with a guid maps as the Expect line says.
        with_guid = path.read_bytes().replace(b"<item>", b"<item><guid>x</guid>", 1)
        _, found = read_text(tmp_path, with_guid)
    assert isinstance(found[0], Asset), found
    assert MEDIA_RSS_EXPECTATIONS[name](found[0])


def test_every_media_rss_file_has_an_expectation() -> None:
    assert {p.name for p in corpus("feedparser", "media-rss").glob("*.xml")} == set(MEDIA_RSS_EXPECTATIONS)


# --- the shared corpus: feedparser's ill-formed set ----------------------------------------------------------------


def test_illformed_unclosed_root_has_no_items() -> None:
    parse, found = read(corpus("feedparser", "illformed", "aaa_illformed.xml"))
    assert found == [] and parse.complete is False and parse.parser == "feedparser"
    assert parse.notes[0].startswith("the document is not well-formed XML (line 6: ")


def test_illformed_high_bit_date_in_channel() -> None:
    parse, found = read(corpus("feedparser", "illformed", "http_high_bit_date.xml"))
    assert found == [] and parse.complete


def test_illformed_empty_document_is_unreadable() -> None:
    with pytest.raises(UnreadableDocument, match="without any element"):
        parse_feed(corpus("feedparser", "illformed", "rss_empty_document.xml"))


def test_illformed_incomplete_cdata_item_fails() -> None:
    parse, found = read(corpus("feedparser", "illformed", "rss_incomplete_cdata.xml"))
    assert [type(item) for item in found] == [ItemFailure]
    assert "no guid, id or link" in found[0].reason
    assert parse.complete is False


def test_illformed_truncated_end_keeps_the_lxml_item() -> None:
    parse, found = read(corpus("feedparser", "illformed", "rss_item_link_corrupted_ampersands.xml"))
    assert [item.external_id for item in found] == ["http://link/get?a=1&b=2"]
    assert parse.parser == "lxml+feedparser" and parse.complete is False


def test_illformed_undeclared_namespace() -> None:
    parse, found = read(corpus("feedparser", "illformed", "undeclared_namespace.xml"))
    assert found == [] and parse.complete is False
    assert "Namespace prefix itunes" in parse.notes[0]


@pytest.mark.parametrize(
    ("name", "charset", "field", "expected"),
    [
        ("koi8r.xml", "koi8-r", "title", "Как пережить новогоднюю ночь"),
        ("shiftjis.xml", "shift_jis", "title", "DrecomRSSに記事投稿が反映されない…"),
        ("windows1255.xml", "windows-1255", "data", "האם תדפיס נייר של אתר אינטרנט שמוצג על מ"),
    ],
)
def test_illformed_undeclared_encodings(name: str, charset: str, field: str, expected: str) -> None:
    path = corpus("feedparser", "illformed", name)
    _, (item,) = read(path, content_type=f"text/xml; charset={charset}")
    if field == "data":  # a description alone gives no id: the failure still carries the decoded item
        assert isinstance(item, ItemFailure) and expected in item.data
    else:
        assert getattr(item, field).startswith(expected)
    # Without the HTTP charset the bytes are not UTF-8: the lenient parser still reads the item.
    parse, (guessed,) = read(path)
    assert type(guessed) is type(item) and parse.complete is False and parse.parser == "feedparser"


# --- our own fixtures: precedence and editions -------------------------------------------------------------------


def test_precedence_content_group_item_channel() -> None:
    _, (defaults, item_level, nested) = read(FIXTURES / "precedence.xml")
    assert defaults.ratings == [Rating("pg", "urn:mpaa")]
    assert defaults.images == [Image("https://img.example.com/channel.jpg", "thumbnail", 100, 100)]
    assert defaults.geoblock == Geoblock("allow", ["GB"])
    assert defaults.credits == [Credit("Channel Producer", "producer")]
    assert defaults.genres == ["Channel Genre"]

    assert item_level.ratings == [Rating("adult", "urn:simple")]
    assert item_level.images == [Image("https://img.example.com/item.jpg", "thumbnail", 200, 100)]
    assert item_level.geoblock == Geoblock("deny", ["FR", "DE"])
    assert item_level.credits == [Credit("Item Director", "director")]
    assert item_level.genres == ["Item Genre"]
    assert item_level.description == "item description"

    assert nested.title == "Own title wins over media:title"
    assert nested.description == "content description"  # the isDefault content is the most specific level
    assert nested.ratings == [Rating("tv-14", "urn:v-chip")]
    assert nested.images == [Image("https://img.example.com/content.jpg", "thumbnail", 320, 180)]
    assert nested.duration == 62
    assert nested.editions[0].streams == [
        Stream(url="https://cdn.example.com/a/low.mp4", type="mp4", mime="video/mp4", bitrate=800),
        Stream(url="https://cdn.example.com/a/master.m3u8", type="hls", default=True),
    ]


def test_editions_group_trailer_image_subtitles_player() -> None:
    _, (group, loose, enclosure, no_url) = read(FIXTURES / "editions.xml")
    full, trailer = group.editions
    assert full.name == "full" and trailer.name == "trailer"
    assert full.streams == [
        Stream("https://cdn.example.com/g/master.m3u8", "hls", "application/x-mpegURL", None, 5000, 1920, 1080, True),
        Stream("https://cdn.example.com/g/manifest.mpd", "dash", "application/dash+xml"),
        Stream("https://cdn.example.com/g/720p.mp4", "mp4", "video/mp4", None, 2200, 1280, 720),
    ]
    assert full.subtitles == [Subtitle("https://cdn.example.com/g/en.ttml", "en-GB", "application/ttml+xml")]
    assert trailer.streams == [Stream("https://cdn.example.com/g/trailer.mp4", "mp4", "video/mp4")]
    assert group.images == [Image("https://img.example.com/g/poster.jpg", "still", 1000, 1500)]
    assert group.custom["player_url"] == "https://player.example.com/g"
    assert group.duration is None  # the trailer's duration is not the asset's

    assert [(s.type, s.mime) for s in loose.editions[0].streams] == [
        ("mp3", None),
        ("webm", None),
        ("smooth", None),
        ("other", "application/octet-stream"),
        ("mp4", None),
    ]
    assert enclosure.editions == [
        Edition("full", [Stream("https://cdn.example.com/e/episode.mp3", "mp3", "audio/mpeg")], [])
    ]
    assert no_url.editions == []
    assert no_url.title == "title from url-less content"
    assert no_url.duration == 610
    assert no_url.custom["player_url"] == "https://player.example.com/no-url"
    assert no_url.images == [Image("https://img.example.com/no-url.jpg", "thumbnail", 960, 540)]


def test_atom_03_and_atom_10_entries(tmp_path: Path) -> None:
    document = """<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss">
      <title>Atom</title>
      <entry><id>urn:a:1</id><title>One</title><summary>s</summary><updated>2024-02-03T04:05:06+01:00</updated>
        <link rel="enclosure" href="https://cdn.example.com/1.m3u8"/>
        <media:keywords>x, y ,x</media:keywords>
        <category term="news"/><category term="skip" scheme="urn:s"/></entry>
    </feed>"""
    _, (asset,) = read_text(tmp_path, document)
    assert asset.external_id == "urn:a:1" and asset.title == "One" and asset.description == "s"
    assert asset.published_at == utc(2024, 2, 3, 3, 5, 6)
    assert asset.editions[0].streams == [Stream("https://cdn.example.com/1.m3u8", "hls")]
    assert asset.tags == ["x", "y", "news"]


# --- our own fixtures: one rule each ------------------------------------------------------------------------------


def test_fields_itunes_and_dc(tmp_path: Path) -> None:
    asset = only_asset(
        tmp_path,
        """<item><guid>  g-1  </guid><title>  T  </title><description>  d  </description>
        <itunes:subtitle>short</itunes:subtitle><itunes:duration>1:02:03.6</itunes:duration>
        <dc:date>2020-05-06T07:08:09Z</dc:date><itunes:author>Someone</itunes:author>
        <itunes:explicit>yes</itunes:explicit><itunes:image href="https://img.example.com/p.jpg"/>
        <itunes:category text="Arts"><itunes:category text="Design"/></itunes:category>
        <category>One</category><category domain="urn:x">ignored</category><category>One</category></item>""",
        default_type="clip",
    )
    assert asset.external_id == "g-1" and asset.title == "T" and asset.description == "d"
    assert asset.type == "clip"
    assert asset.short_description == "short"
    assert asset.duration == 3724
    assert asset.published_at == utc(2020, 5, 6, 7, 8, 9)
    assert asset.credits == [Credit("Someone", "author")]
    assert asset.ratings == [Rating("explicit", "urn:itunes:explicit")]
    assert asset.images == [Image("https://img.example.com/p.jpg", "poster")]
    assert asset.genres == ["Arts", "Design"]
    assert asset.tags == ["One"]


def test_media_credit_wins_over_itunes_author(tmp_path: Path) -> None:
    asset = only_asset(
        tmp_path,
        '<item><guid>1</guid><itunes:author>A</itunes:author><media:credit role="host">H</media:credit></item>',
    )
    assert asset.credits == [Credit("H", "host")]


def test_every_media_rating_is_kept(tmp_path: Path) -> None:
    asset = only_asset(
        tmp_path,
        '<item><guid>1</guid><media:rating>nonadult</media:rating><media:rating scheme="urn:mpaa">pg-13</media:rating>'
        '<media:rating scheme="urn:v-chip">tv-y7</media:rating></item>',
    )
    assert asset.ratings == [
        Rating("nonadult", "urn:simple"),
        Rating("pg-13", "urn:mpaa"),
        Rating("tv-y7", "urn:v-chip"),
    ]


def test_episode_type_and_numbers(tmp_path: Path) -> None:
    items = (
        "<item><guid>1</guid><itunes:episode>3</itunes:episode><itunes:season>2</itunes:season></item>"
        "<item><guid>2</guid><itunes:episodeType>trailer</itunes:episodeType></item>"
        "<item><guid>3</guid></item>"
    )
    _, (episode, trailer, plain) = read_text(tmp_path, rss(items))
    assert (episode.type, episode.season, episode.episode, episode.series) == ("episode", 2, 3, "T")
    assert trailer.type == "trailer"
    assert (plain.type, plain.series) == ("movie", None)


@pytest.mark.parametrize(
    ("restrictions", "expected"),
    [
        (
            '<media:restriction relationship="allow" type="country">us ca</media:restriction>',
            Geoblock("allow", ["US", "CA"]),
        ),
        ('<media:restriction relationship="deny">gb,fr</media:restriction>', Geoblock("deny", ["GB", "FR"])),
        ('<media:restriction relationship="allow" type="country">all</media:restriction>', None),
        ('<media:restriction relationship="deny" type="country">none</media:restriction>', None),
        ('<media:restriction relationship="deny" type="country">all</media:restriction>', Geoblock("allow", [])),
        ('<media:restriction relationship="allow" type="country"></media:restriction>', Geoblock("allow", [])),
        ('<media:restriction relationship="allow" type="uri">https://example.com</media:restriction>', None),
        (
            '<media:restriction relationship="allow" type="country">us ca gb</media:restriction>'
            '<media:restriction relationship="deny" type="country">ca</media:restriction>',
            Geoblock("allow", ["US", "GB"]),
        ),
        (
            '<media:restriction relationship="deny" type="country">us</media:restriction>'
            '<media:restriction relationship="deny" type="country">fr us</media:restriction>',
            Geoblock("deny", ["US", "FR"]),
        ),
    ],
)
def test_geoblock(tmp_path: Path, restrictions: str, expected: Geoblock | None) -> None:
    assert only_asset(tmp_path, f"<item><guid>1</guid>{restrictions}</item>").geoblock == expected


@pytest.mark.parametrize(
    ("restriction", "reason"),
    [
        ('<media:restriction relationship="allow" type="country">usa</media:restriction>', "two-letter country codes"),
        ('<media:restriction relationship="maybe" type="country">us</media:restriction>', "expected allow or deny"),
    ],
)
def test_invalid_geoblock_fails_only_that_item(tmp_path: Path, restriction: str, reason: str) -> None:
    _, found = read_text(tmp_path, rss(f"<item><guid>bad</guid>{restriction}</item><item><guid>good</guid></item>"))
    failure, good = found
    assert isinstance(failure, ItemFailure) and reason in failure.reason
    assert failure.data.startswith("<item") and "bad" in failure.data
    assert isinstance(good, Asset) and good.external_id == "good"


@pytest.mark.parametrize(
    "valid",
    [
        "start=2024-01-01T00:00:00Z; end=2024-12-31T23:59:59Z; scheme=W3C-DTF",
        "start=2024-01-01T00:00:00Z;end=2024-12-31T23:59:59Z",
        "\n   scheme = W3C-DTF ;\n  end = 2024-12-31T23:59:59Z ;\n start = 2024-01-01T00:00:00+00:00\n",
    ],
)
def test_dcterms_valid_any_spacing(tmp_path: Path, valid: str) -> None:
    asset = only_asset(tmp_path, f"<item><guid>1</guid><dcterms:valid>{valid}</dcterms:valid></item>")
    assert asset.availability == Availability(utc(2024, 1, 1), utc(2024, 12, 31, 23, 59, 59))


def test_availability_parts() -> None:
    assert parse_availability("end=2030-01-01") == Availability(None, utc(2030, 1, 1))
    assert parse_availability("start=2030-01-01T10:00:00-02:00") == Availability(utc(2030, 1, 1, 12), None)
    assert parse_availability("scheme=W3C-DTF") is None
    assert parse_availability("start=soon") is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("59", 59),
        ("867", 867),
        ("04:05", 245),
        ("01:02:03", 3723),
        ("00:37:07", 2227),
        ("12.6", 13),
        ("1:02:03.4", 3723),
        ("1h2m3s", 3723),
        ("2m", 120),
        ("PT1H30M", 5400),
        ("", None),
        ("abc", None),
        ("-5", None),
        ("1:2:3:4", None),
        ("nan", None),
    ],
)
def test_duration_forms(text: str, seconds: int | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fri, 26 Feb 2021 20:00:00 GMT", utc(2021, 2, 26, 20)),
        ("Sun, 17 Dec 2023 00:58:40 -0500", utc(2023, 12, 17, 5, 58, 40)),
        ("Sat, Dec 16 2023 02:02:33 PM", utc(2023, 12, 16, 14, 2, 33)),
        ("2019-04-05T21:04:41+02:00", utc(2019, 4, 5, 19, 4, 41)),
        ("2019-04-05", utc(2019, 4, 5)),
        ("05 March 2024 10:00:00", utc(2024, 3, 5, 10)),
        ("not a date", None),
        ("", None),
    ],
)
def test_date_forms(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


def test_bad_optional_values_are_dropped(tmp_path: Path) -> None:
    asset = only_asset(
        tmp_path,
        "<item><guid>1</guid><pubDate>someday</pubDate><itunes:duration>long</itunes:duration>"
        '<media:content url="https://cdn.example.com/x.mp4" bitrate="fast" width="-1" duration="?"/></item>',
    )
    assert asset.published_at is None and asset.duration is None
    assert asset.editions[0].streams == [Stream("https://cdn.example.com/x.mp4", "mp4")]


@pytest.mark.parametrize(
    ("mime", "url", "expected"),
    [
        ("application/vnd.apple.mpegurl", "https://x/a", "hls"),
        ("application/x-mpegURL; charset=utf-8", "https://x/a", "hls"),
        (None, "https://x/a.m3u8?t=1", "hls"),
        (None, "https://x/a.mpd", "dash"),
        ("video/mp4", "https://x/a", "mp4"),
        (None, "https://x/a.m4v", "mp4"),
        ("audio/mpeg", "https://x/a", "mp3"),
        (None, "https://x/v.ism/manifest", "smooth"),
        ("video/webm", "https://x/a", "webm"),
        ("", "https://x/folder.d/file", "other"),
        ("text/html", "https://x/a.html", "other"),
    ],
)
def test_stream_type(mime: str | None, url: str, expected: str) -> None:
    assert stream_type(mime, url) == expected


def test_custom_simple_elements(tmp_path: Path) -> None:
    document = rss(
        '<item xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:acme="urn:acme">'
        "<guid>1</guid><link>https://www.example.com/1</link><yt:videoId>abc</yt:videoId>"
        "<acme:code> A1 </acme:code><acme:code>second</acme:code><acme:nested><acme:x>1</acme:x></acme:nested>"
        '<media:copyright>2024 Example</media:copyright><media:license href="https://example.com/l"/>'
        "<comments>https://www.example.com/1#c</comments><acme:empty/></item>"
    )
    _, (asset,) = read_text(tmp_path, document)
    assert asset.custom == {
        "link": "https://www.example.com/1",
        "yt:videoId": "abc",
        "acme:code": "A1",
        "media:copyright": "2024 Example",
        "media:license": "https://example.com/l",
        "comments": "https://www.example.com/1#c",
    }


# --- identity -----------------------------------------------------------------------------------------------------


def test_identity_order_and_fallback(tmp_path: Path) -> None:
    items = (
        "<item><guid> g </guid><link>https://l/1</link></item>"
        "<item><link>https://l/2</link></item>"
        "<item><title>Only title</title><pubDate>Fri, 26 Feb 2021 20:00:00 GMT</pubDate>"
        '<media:content url="https://cdn.example.com/3.mp4"/></item>'
        "<item><media:category>only a genre</media:category><description>and a description</description></item>"
    )
    _, (by_guid, by_link, by_hash, nothing) = read_text(tmp_path, rss(items))
    assert by_guid.external_id == "g"
    assert by_link.external_id == "https://l/2"
    fallback = "Only title\x1fhttps://cdn.example.com/3.mp4\x1fFri, 26 Feb 2021 20:00:00 GMT"
    assert by_hash.external_id == "sha1:" + hashlib.sha1(fallback.encode()).hexdigest()
    assert isinstance(nothing, ItemFailure) and "no guid, id or link" in nothing.reason
    assert nothing.external_id is None and "only a genre" in nothing.data
    # The fallback is stable: the same item in another document gets the same id.
    _, (again,) = read_text(tmp_path, rss(items.split("</item>")[2] + "</item>"))
    assert again.external_id == by_hash.external_id


def test_duplicate_ids_reported_once_per_id(tmp_path: Path) -> None:
    items = "".join(
        f"<item><guid>{guid}</guid><title>{n}</title></item>" for n, guid in enumerate(["a", "b", "a", "a", "b", "c"])
    )
    _, found = read_text(tmp_path, rss(items))
    assert [(type(x).__name__, x.external_id) for x in found] == [
        ("Asset", "a"),
        ("Asset", "b"),
        ("ItemFailure", "a"),
        ("ItemFailure", "b"),
        ("Asset", "c"),
    ]
    assert found[0].title == "0"
    assert found[2].reason == "duplicate id 'a' in this document: only its first occurrence counts"


# --- hostile and broken documents --------------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<rss version="2.0"><channel><item><title>&lol3;</title></item></channel></rss>"""
EXTERNAL_FILE = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><guid>&xxe;</guid></item></channel></rss>"""
EXTERNAL_HTTP = """<!DOCTYPE rss [ <!-- a comment with <rss> inside --> <!entity  xxe SYSTEM "http://169.254.169.254/">]>
<rss version="2.0"><channel><item><guid>&xxe;</guid></item></channel></rss>"""
QUADRATIC = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + "x" * 50_000 + '">]>'
    "<rss><channel><item><title>" + "&a;" * 5_000 + "</title></item></channel></rss>"
)


@pytest.mark.parametrize(
    "document",
    [
        BILLION_LAUGHS,
        EXTERNAL_FILE,
        EXTERNAL_HTTP,
        QUADRATIC,
        EXTERNAL_FILE.encode("utf-16"),
        b"\xef\xbb\xbf" + EXTERNAL_FILE.encode(),
    ],
    ids=["billion-laughs", "file-entity", "http-entity", "quadratic", "utf-16", "utf-8-bom"],
)
def test_entities_are_refused_before_parsing(tmp_path: Path, document: str | bytes, monkeypatch) -> None:
    def no_parser(*args, **kwargs):
        raise AssertionError("a parser saw an unsafe document")

    monkeypatch.setattr(etree, "iterparse", no_parser)
    monkeypatch.setattr(feedparser, "parse", no_parser)
    path = tmp_path / "feed.xml"
    path.write_bytes(document.encode() if isinstance(document, str) else document)
    with pytest.raises(UnsafeDocument, match="declares XML entities"):
        parse_feed(path)


def test_doctype_without_entities_is_read(tmp_path: Path) -> None:
    document = '<!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" "http://example.com/rss.dtd"><rss><channel>'
    _, found = read_text(tmp_path, document + "<item><guid>1</guid></item></channel></rss>")
    assert [item.external_id for item in found] == ["1"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            "<!DOCTYPE html><html><head><title>Log in</title></head><body><form>",
            "the URL returned an HTML page, not a feed: check the feed URL or whether it needs a login",
        ),
        (
            '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>hi</p></body></html>',
            "the URL returned an HTML page",
        ),
        (bytes(range(256)) * 4, "the URL returned binary data, not a feed"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR<a", "the URL returned binary data, not a feed"),
        ("", "the URL returned an empty document"),
        ("   \n", "the URL returned an empty document"),
        ('{"playlist": []}', "not XML"),
        ("<?xml version='1.0'?><catalog><video/></catalog>", "root element is <catalog>, not an RSS or Atom feed"),
    ],
    ids=["html", "xhtml", "binary", "png", "empty", "blank", "json", "other-xml"],
)
def test_unreadable_documents(tmp_path: Path, document: str | bytes, message: str) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(document.encode() if isinstance(document, str) else document)
    with pytest.raises(UnreadableDocument, match=message):
        list(parse_feed(path))


def test_truncated_document_keeps_items_before_the_cut(tmp_path: Path) -> None:
    items = "".join(f"<item><guid>id-{n}</guid><title>Item {n}</title></item>" for n in range(5))
    document = rss(items)
    cut = document.index("<title>Item 3")
    parse, found = read_text(tmp_path, document[:cut])
    assert [item.external_id for item in found] == ["id-0", "id-1", "id-2", "id-3"]
    assert [item.title for item in found] == ["Item 0", "Item 1", "Item 2", None]
    assert parse.complete is False
    assert parse.parser == "lxml+feedparser"
    assert parse.notes == [
        f"the document is not well-formed XML (line 1: {parse.notes[0].split('(line 1: ')[1].split(')')[0]}); "
        "it was read with the lenient parser, so assets missing from it are not removed"
    ]


def test_not_well_formed_midway_switches_to_feedparser(tmp_path: Path) -> None:
    document = rss(
        "<item><guid>1</guid><title>ok</title></item>"
        "<item><guid>2</guid><title>R&D</title><media:thumbnail url='https://img.example.com/2.jpg'/></item>"
        "<item><guid>3</guid><title>after</title><itunes:duration>1:00</itunes:duration></item>"
    )
    parse, found = read_text(tmp_path, document)
    assert [(item.external_id, item.title) for item in found] == [("1", "ok"), ("2", "R&D"), ("3", "after")]
    assert found[1].images == [Image("https://img.example.com/2.jpg", "thumbnail")]
    assert found[2].duration == 60
    assert parse.parser == "lxml+feedparser" and parse.complete is False
    assert "line 1: " in parse.notes[0]


LENIENT_CHANNEL = (
    '<media:rating scheme="urn:mpaa">pg</media:rating><media:thumbnail url="https://img.example.com/c.jpg"/>'
    '<itunes:explicit>yes</itunes:explicit><media:restriction relationship="allow">gb ie</media:restriction>'
)
LENIENT_ITEM = """<item><guid>{n}</guid><title>R{amp}D {n}</title><link>https://www.example.com/{n}</link>
  <description>d</description><pubDate>Fri, 26 Feb 2021 20:00:00 GMT</pubDate>
  <itunes:episode>{n}</itunes:episode><itunes:season>1</itunes:season>
  <dcterms:valid>start=2024-01-01T00:00:00Z; end=2030-01-01T00:00:00Z</dcterms:valid>
  <media:keywords>a, b, a</media:keywords><media:category>Drama</media:category>
  <media:credit role="director">Someone</media:credit><media:player url="https://player.example.com/{n}"/>
  <media:subTitle href="https://cdn.example.com/{n}.vtt" lang="en" type="text/vtt"/>
  <media:group>
    <media:content url="https://cdn.example.com/{n}.mp4" type="video/mp4" bitrate="800" duration="61"/>
    <media:content url="https://cdn.example.com/{n}.m3u8" isDefault="true" duration="62"/>
    <media:content url="https://cdn.example.com/{n}-trailer.mp4" expression="sample" duration="9"/>
    <media:content url="https://img.example.com/{n}.jpg" medium="image" width="10" height="20"/>
  </media:group></item>"""


def test_the_lenient_parser_maps_by_the_same_rules(tmp_path: Path) -> None:
    """Items feedparser reads map as lxml maps them in a well-formed copy, wherever feedparser keeps what the rules
    read: channel defaults, precedence, editions, images, credits, ratings, geoblock, type and custom keys."""
    items = [LENIENT_ITEM.format(n=n, amp="&" if n == 2 else "&amp;") for n in (1, 2, 3)]
    lenient, found = read_text(tmp_path, rss("".join(items), LENIENT_CHANNEL))
    assert not lenient.complete and [a.external_id for a in found] == ["1", "2", "3"]
    well_formed, expected = read_text(tmp_path, rss("".join(items).replace("R&D", "R&amp;D"), LENIENT_CHANNEL))
    assert well_formed.parser == "lxml"
    assert found[1].origin_digest is None and found[1].episode == 2 and found[1].title == "R&D 2"
    assert found[1].geoblock == Geoblock("allow", ["GB", "IE"]) and found[1].ratings[0] == Rating("pg", "urn:mpaa")
    assert [replace(a, origin_digest=None) for a in found] == [replace(a, origin_digest=None) for a in expected]


def test_items_without_an_id_that_lxml_read_are_not_read_again_as_duplicates(tmp_path: Path) -> None:
    """lxml yields the items before the break, with ids derived from title, media URL and date; feedparser reads
    the whole document again and derives the same ids: those items are dropped, not failed as repeated."""
    items = "".join(f"<item><title>Item {n}</title><description>{'x' * 3000}</description></item>" for n in range(9))
    parse, found = read_text(tmp_path, rss(items + "<item><title>R&D</title></item>"))
    assert parse.parser == "lxml+feedparser" and parse.complete is False
    assert [item.title for item in found] == [f"Item {n}" for n in range(9)] + ["R&D"]
    assert all(isinstance(item, Asset) and item.external_id.startswith("sha1:") for item in found)


def test_lenient_parser_uses_the_http_charset(tmp_path: Path) -> None:
    document = rss("<item><guid>1</guid><title>שלום</title></item><item><guid>2</guid><title>x & y</title>")
    parse, found = read_text(tmp_path, document.encode("windows-1255"), content_type="text/xml; charset=windows-1255")
    assert [item.title for item in found] == ["שלום", "x & y"]
    assert parse.complete is False


def test_declared_encoding_beats_http_charset(tmp_path: Path) -> None:
    document = (
        '<?xml version="1.0" encoding="iso-8859-1"?>' + rss("<item><guid>1</guid><title>café</title></item>")[21:]
    )
    _, (asset,) = read_text(tmp_path, document.encode("iso-8859-1"), content_type="text/xml; charset=utf-8")
    assert asset.title == "café"


@pytest.mark.parametrize("charset", ["mac-cyrillic", "cp65001", "rot13", "base64", "no-such-charset", "utf-7", ""])
def test_odd_http_charsets_are_ignored_or_used(tmp_path: Path, charset: str) -> None:
    document = rss("<item><guid>1</guid><title>x</title></item>")
    _, found = read_text(tmp_path, document, content_type=f"text/xml; charset={charset}")
    assert [item.title for item in found] == ["x"]
    _, found = read_text(tmp_path, document[:-20], content_type=f"text/xml; charset={charset}")
    assert [item.title for item in found] == ["x"]


def test_iterating_again_reads_again(tmp_path: Path) -> None:
    parse, found = read_text(tmp_path, rss("<item><guid>a</guid></item>"))
    assert [x.external_id for x in parse] == [x.external_id for x in found] == ["a"]


# --- properties ---------------------------------------------------------------------------------------------------

XMLISH = st.lists(
    st.sampled_from(
        [
            "<rss>",
            "</rss>",
            "<channel>",
            "</channel>",
            "<item>",
            "</item>",
            "<guid>",
            "</guid>",
            "<title>",
            "</title>",
            "<entry>",
            "</entry>",
            "<feed xmlns='http://www.w3.org/2005/Atom'>",
            "</feed>",
            "&amp;",
            "&",
            "<![CDATA[",
            "]]>",
            "<!--",
            "-->",
            "<?xml version='1.0'?>",
            "<!DOCTYPE rss>",
            "x",
            "1",
            " ",
            "<media:group xmlns:media='http://search.yahoo.com/mrss/'>",
            "</media:group>",
            "é",
            "\x00",
            "<media:content url='u.m3u8' duration='x' isDefault='true'/>",
            "<enclosure url='a.mp3'/>",
            "<media:restriction relationship='allow'>zz</media:restriction>",
            "<pubDate>",
            "</pubDate>",
        ]
    ),
    max_size=40,
).map("".join)


def assert_only_known_outcomes(path: Path) -> None:
    try:
        for item in parse_feed(path):
            assert isinstance(item, Asset | ItemFailure)
    except (UnsafeDocument, UnreadableDocument):
        pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_never_escape(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "feed.bin"
    path.write_bytes(data)
    assert_only_known_outcomes(path)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=XMLISH, encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_arbitrary_xmlish_documents_never_escape(tmp_path: Path, text: str, encoding: str) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(text.encode(encoding, "replace"))
    assert_only_known_outcomes(path)


# --- the demo feed shipped in the package --------------------------------------------------------------------------


def test_demo_feed() -> None:
    parse, found = read(DEMO_FEED)
    assert parse.complete and parse.parser == "lxml"
    assert len(found) == 12 and all(isinstance(item, Asset) for item in found)
    first = found[0]
    assert first.external_id == "vid-1001" and first.title == "Harbour Lights"
    assert [s.type for s in first.editions[0].streams] == ["hls", "mp4", "mp4"]
    assert first.editions[0].streams[0].default is True
    assert first.tags == ["example", "demo", "documentary"]
    assert first.ratings == [Rating("nonadult", "urn:simple"), Rating("12", "urn:bbfc")]
    assert first.geoblock == Geoblock("allow", ["GB", "IE"])
    assert first.availability == Availability(utc(2024, 2, 3), utc(2026, 12, 31, 23, 59, 59))
    assert first.custom["ovp:videoId"] == "vid-1001"
    assert [e.name for e in found[3].editions] == ["full", "trailer"]
    assert (found[6].type, found[6].season, found[6].episode) == ("episode", 2, 5)
    assert [t.language for t in found[8].editions[0].subtitles] == ["en", "fr"]


def test_connector_parses_a_fetched_document() -> None:
    connector = connector_for("mrss")
    source = Source(id="s1", service="acme", name="demo", kind="mrss", url="https://feeds.example.com/demo.xml")
    source.asset_type = "clip"
    parse = connector.parse(source, Fetched(path=DEMO_FEED, content_type="application/rss+xml; charset=utf-8"))
    found = list(parse)
    assert connector.kind == "mrss" and len(found) == 12
    assert found[0].type == "clip" and found[6].type == "episode"


_WEEKDAYS = ["", "Mon, ", "Tue, ", "Sun, "]
_MONTH_NAMES = ["Jan", "Feb", "Jun", "Sep", "Dec"]


@settings(max_examples=400, deadline=None)
@given(
    weekday=st.sampled_from(_WEEKDAYS),
    day=st.integers(0, 32),
    day_width=st.sampled_from([1, 2]),
    month=st.sampled_from(_MONTH_NAMES),
    year=st.sampled_from([1, 99, 999, 1000, 1970, 2025, 9999]),
    hour=st.integers(0, 25),
    minute=st.integers(0, 61),
    second=st.integers(0, 61),
    zone=st.sampled_from(["GMT", "UT", "UTC", "Z", "+0000"]),
)
def test_the_fast_rfc822_path_reads_dates_as_the_general_path_does(
    weekday: str, day: int, day_width: int, month: str, year: int, hour: int, minute: int, second: int, zone: str
) -> None:
    text = f"{weekday}{day:0{day_width}d} {month} {year:04d} {hour:02d}:{minute:02d}:{second:02d} {zone}"
    fast = values.parse_date(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(values, "_RFC822_GMT", re.compile(r"(?!)"))  # never matches: the general path only
        patch.setattr(values, "_DATE_CACHE", {})  # else the fast path's answer would be handed back
        general = values.parse_date(text)
    assert fast == general


# --- what the mapping remembers between items (values read once per text) ---------------------------------------

_DATE_TEXTS = [
    "Fri, 26 Feb 2021 20:00:00 GMT",
    " Fri, 26 Feb 2021 20:00:00 GMT ",
    "Sun, 17 Dec 2023 00:58:40 -0500",
    "Sat, Dec 16 2023 02:02:33 PM",
    "2019-04-05T21:04:41+02:00",
    "2019-04-05",
    "Tue, 31 Feb 2025 09:01:21 GMT",
    "not a date",
    "   ",
]


@pytest.mark.parametrize("text", _DATE_TEXTS)
def test_a_remembered_date_is_the_date_read_afresh(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(values, "_DATE_CACHE", {})
    first, again = values.parse_date(text), values.parse_date(text)
    assert first == again == values._read_date(text)
    assert text in values._DATE_CACHE


def test_the_remembered_values_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(values, "_CACHE_SIZE", 3)
    monkeypatch.setattr(values, "_DATE_CACHE", {})
    days = [f"2024-01-{day:02d}" for day in range(1, 11)]
    assert [values.parse_date(day) for day in days] == [utc(2024, 1, day) for day in range(1, 11)]
    assert len(values._DATE_CACHE) <= 3
    assert [values.parse_date(day) for day in days] == [utc(2024, 1, day) for day in range(1, 11)]


def test_a_remembered_period_gives_a_new_availability_each_time() -> None:
    text = "start=2024-01-01T00:00:00Z; end=2024-12-31T23:59:59Z; scheme=W3C-DTF"
    first, again = parse_availability(text), parse_availability(text)
    assert first == again == Availability(utc(2024, 1, 1), utc(2024, 12, 31, 23, 59, 59))
    assert first is not again
    assert parse_availability("start=soon") is None and parse_availability("start=soon") is None


@pytest.mark.parametrize(
    ("restrictions", "expected"),
    [
        ([("allow", "us ca"), ("deny", "ca")], Geoblock("allow", ["US"])),
        ([("deny", "fr")], Geoblock("deny", ["FR"])),
        ([("allow", "all")], None),
        ([("deny", "all")], Geoblock("allow", [])),
        ([], None),
    ],
)
def test_a_remembered_geoblock_is_new_each_time(restrictions: list[tuple[str, str]], expected: Geoblock | None) -> None:
    first, again = values.geoblock(list(restrictions)), values.geoblock(list(restrictions))
    assert first == again == values._fold_restrictions(restrictions) == expected
    if expected is not None:
        assert first is not again and first.countries is not again.countries


@pytest.mark.parametrize(
    ("restrictions", "reason"),
    [([("allow", "usa")], "two-letter country codes"), ([("maybe", "us")], "expected allow or deny")],
)
def test_a_remembered_bad_geoblock_fails_every_time(restrictions: list[tuple[str, str]], reason: str) -> None:
    for _ in range(2):
        with pytest.raises(values.ItemError, match=reason):
            values.geoblock(restrictions)


def test_items_sharing_values_do_not_share_objects(tmp_path: Path) -> None:
    item = (
        "<item><guid>{n}</guid><pubDate>Fri, 26 Feb 2021 20:00:00 GMT</pubDate>"
        "<dcterms:valid>start=2024-01-01T00:00:00Z; end=2024-12-31T23:59:59Z</dcterms:valid>"
        '<media:restriction relationship="allow" type="country">us ca</media:restriction>'
        "<media:keywords>a, , b, a</media:keywords><category>b</category><category>c</category>"
        "<media:category>g</media:category><media:category>g</media:category></item>"
    )
    _, (first, second) = read_text(tmp_path, rss(item.format(n=1) + item.format(n=2)))
    first.availability.end = None
    first.geoblock.countries.append("FR")
    first.tags.append("z")
    assert second.availability == Availability(utc(2024, 1, 1), utc(2024, 12, 31, 23, 59, 59))
    assert second.geoblock == Geoblock("allow", ["US", "CA"])
    assert second.tags == ["a", "b", "c"] and second.genres == ["g"]
    assert second.published_at == first.published_at == utc(2021, 2, 26, 20)


def test_a_repeated_bad_geoblock_fails_each_item(tmp_path: Path) -> None:
    bad = '<media:restriction relationship="allow" type="country">usa</media:restriction>'
    _, found = read_text(tmp_path, rss(f"<item><guid>1</guid>{bad}</item><item><guid>2</guid>{bad}</item>"))
    assert [(type(x).__name__, x.external_id) for x in found] == [("ItemFailure", "1"), ("ItemFailure", "2")]
    assert found[0].reason == found[1].reason


def test_dedupe_drops_blanks_and_repeats_in_order() -> None:
    assert values.dedupe(["b", "", "a", "b", " ", ""]) == ["b", "a", " "]
    assert values.dedupe([]) == []


def test_each_value_comes_from_the_most_specific_level_that_has_it(tmp_path: Path) -> None:
    # Every level holds some values and lacks others: each field is looked up level by level on its own.
    asset = only_asset(
        tmp_path,
        "<item><guid>1</guid><itunes:duration>01:00</itunes:duration><media:keywords>item</media:keywords>"
        "<media:credit>Item credit</media:credit><itunes:explicit>no</itunes:explicit>"
        "<media:group><media:title>Group title</media:title><media:rating>pg</media:rating>"
        '<media:content url="https://cdn.example.com/a.mp4" duration="?"><media:category>a</media:category>'
        "</media:content>"
        '<media:content url="https://cdn.example.com/b.mp4"><media:description>B</media:description>'
        "</media:content></media:group></item>",
        channel="<itunes:explicit>yes</itunes:explicit><media:category>channel</media:category>"
        '<media:thumbnail url="https://img.example.com/c.jpg"/>',
    )
    assert asset.title == "Group title" and asset.description == "B"
    assert asset.duration == 60  # the content's unparseable duration gives way to the item's
    assert asset.tags == ["item"] and asset.genres == ["a"]
    assert asset.credits == [Credit("Item credit")]
    assert asset.ratings == [Rating("pg", "urn:simple"), Rating("clean", "urn:itunes:explicit")]
    assert asset.images == [Image("https://img.example.com/c.jpg")]


@pytest.mark.parametrize(
    "text",
    [
        *("0", "12", "0012", " 12 ", "1.9", "-3", "1e3", "inf", "nan", "abc", "12x", "+5", "1_000", " "),
        *("\uff11\uff12", "\u0663"),  # full-width and Arabic-Indic digits
    ],
)
def test_a_remembered_number_is_the_number_read_afresh(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(values, "_INT_CACHE", {})
    first, again = values.parse_int(text), values.parse_int(text)
    assert first == again == values._read_int(text)
    assert text in values._INT_CACHE


def test_long_texts_are_read_but_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("_INT_CACHE", "_DATE_CACHE", "_PERIOD_CACHE", "_GEOBLOCK_CACHE"):
        monkeypatch.setattr(values, name, {})
    long_number = "1" * 300
    assert values.parse_int(long_number) == int(long_number)
    long_date = "Fri, 26 Feb 2021 20:00:00 GMT" + " " * 300
    assert values.parse_date(long_date) == utc(2021, 2, 26, 20)
    long_period = "start=2024-01-01;" + " " * 300
    assert parse_availability(long_period) == Availability(utc(2024, 1, 1), None)
    assert values.geoblock([("deny", "fr " * 400)]) == Geoblock("deny", ["FR"])
    assert long_number not in values._INT_CACHE and long_date not in values._DATE_CACHE
    assert long_period not in values._PERIOD_CACHE and not values._GEOBLOCK_CACHE
