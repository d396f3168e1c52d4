"""The Mux connector against a fake Mux Video API shaped as Mux documents it, and through the CLI into the catalog."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.connectors import mux
from data_agent_pipelines.connectors.mux import MuxConnector
from data_agent_pipelines.errors import PlatformError, SourceAuthError
from data_agent_pipelines.model import Asset, ItemFailure
from data_agent_pipelines.settings import Settings

from ..clirunner import run_cli
from .apiserver import ApiServer, Reply
from .fake_mux import FakeMux, mp4_support_files, mux_asset, rendition, text_track
from .ovp import Sleeps, make_source, run

TOKEN_ID = "44c819de-4add-4c9f-b2e9-384a0a71bede"
TOKEN_SECRET = "mux-secret-INKxCoZ+cX6l1yrR6vq"
START = 1_700_000_000


@pytest.fixture
def fake() -> FakeMux:
    return FakeMux(TOKEN_ID, TOKEN_SECRET, [mux_asset(n, START + n * 3600) for n in range(23)])


@pytest.fixture
def server(fake: FakeMux) -> Iterator[ApiServer]:
    with ApiServer(fake).running() as running:
        yield running


def source(server: ApiServer, **options: str):
    return make_source(
        "mux",
        server.base + "/",
        options=options,
        credentials={"token_id": TOKEN_ID, "token_secret": TOKEN_SECRET},
    )


def read_all(server: ApiServer, tmp_path: Path, sleeps: Sleeps | None = None, **options: str):
    sleeps = sleeps if sleeps is not None else Sleeps()
    return run(MuxConnector(sleep=sleeps), source(server, **options), tmp_path, sleeps)


def one_asset(fake: FakeMux, server: ApiServer, tmp_path: Path, **fields: Any) -> Asset:
    fake.assets = [mux_asset(1, START, **fields)]
    _fetched, (asset,) = read_all(server, tmp_path)
    assert isinstance(asset, Asset)
    return asset


def test_pages_through_the_environment_by_cursor_and_maps_each_asset(
    fake: FakeMux, server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mux, "LIMIT", 10)
    fake.assets[22]["passthrough"] = "cms:4471"
    fake.assets[22]["meta"]["creator_id"] = "editor-7"
    fetched, items = read_all(server, tmp_path)
    assert fetched.complete and "23 items read in 3 pages" in fetched.notes and fetched.sync_state is None
    assert [i.external_id for i in items] == [f"a{n:03}Mux00AssetId" for n in range(22, -1, -1)]  # newest first
    lists = [r.query for r in server.requests]
    assert [q.get("limit") for q in lists] == ["10", "10", "10"]
    assert "cursor" not in lists[0] and lists[1]["cursor"] and lists[2]["cursor"] != lists[1]["cursor"]
    assert all(
        r.headers["authorization"].startswith("Basic ") and TOKEN_SECRET not in r.path + str(r.query)
        for r in server.requests
    )
    newest = items[0]
    assert newest.title == "Film 22" and newest.duration == 24  # 23.857167 s, rounded
    assert newest.published_at == datetime.fromtimestamp(START + 22 * 3600, UTC)
    assert newest.custom == {
        "external_id": "ext-22",
        "creator_id": "editor-7",
        "passthrough": "cms:4471",
        "aspect_ratio": "16:9",
        "resolution_tier": "1080p",
    }
    (hls,) = newest.editions[0].streams
    assert (hls.url, hls.type, hls.default, hls.width, hls.height, hls.expires) == (
        "https://stream.mux.com/p022PlayBackId.m3u8",
        "hls",
        True,
        1920,
        1080,
        None,
    )
    assert [i.url for i in newest.images] == ["https://image.mux.com/p022PlayBackId/thumbnail.jpg"]
    assert newest.unpublished is None and newest.notes == []


def test_an_api_without_cursors_is_paged_by_page_number(
    fake: FakeMux, server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mux, "LIMIT", 10)
    fake.legacy = True
    fetched, items = read_all(server, tmp_path)
    assert fetched.complete and len({i.external_id for i in items}) == 23
    assert [r.query.get("page") for r in server.requests] == [None, "2", "3"]


def test_a_cursor_that_leads_back_to_the_first_page_stops_paging_as_incomplete(
    fake: FakeMux, server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mux, "LIMIT", 10)
    fake.repeat_cursor = True
    fetched, items = read_all(server, tmp_path)
    assert not fetched.complete and len(items) == 10 and "same page" in " ".join(fetched.notes)


def test_a_rejected_token_fails_naming_mux_and_both_settings_but_no_secret(server: ApiServer, tmp_path: Path) -> None:
    bad = source(server)
    bad.credentials["token_secret"] = "wrong-secret-value"
    with pytest.raises(SourceAuthError) as caught:
        run(MuxConnector(sleep=Sleeps()), bad, tmp_path, Sleeps())
    message = str(caught.value)
    assert message.startswith("Mux refused this source's credentials (401 from ")
    assert "--credential token_id" in message and "--credential token_secret" in message
    assert "Mux Video read permission" in message
    assert "wrong-secret-value" not in message and TOKEN_SECRET not in message and TOKEN_ID not in message


def test_a_spent_quota_waits_a_second_and_a_429_its_retry_after(
    fake: FakeMux, server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mux, "LIMIT", 10)
    fake.quota = 1  # the first answer says none are left this second
    fake.faults.add(
        Reply({"error": {"type": "too_many_requests"}}, 429, {"Retry-After": "3"}), when=lambda r: "cursor" in r.query
    )
    sleeps = Sleeps()

    def refill(seconds: float) -> None:
        sleeps.append(seconds)
        fake.quota = 100  # the window has passed

    fetched, items = read_all(server, tmp_path, refill)  # type: ignore[arg-type]
    assert fetched.complete and len(items) == 23
    assert len(sleeps) == 2 and 0.9 <= sleeps[0] <= 1.0 and sleeps[1] == 3.0  # a second, then Retry-After


def test_an_answer_without_a_list_of_assets_fails_the_import_saying_so(
    fake: FakeMux, server: ApiServer, tmp_path: Path
) -> None:
    fake.faults.add(Reply({"data": {"id": "not a list"}, "next_cursor": None}))
    with pytest.raises(PlatformError, match=r"Mux answered with an error: .*holds no list of assets under data"):
        read_all(server, tmp_path)


# --- static renditions: both documented shapes -------------------------------------------------------------------


def test_mp4_support_files_are_renditions_once_the_set_is_ready(
    fake: FakeMux, server: ApiServer, tmp_path: Path
) -> None:
    asset = one_asset(fake, server, tmp_path, mp4_support="standard", static_renditions=mp4_support_files())
    hls, *mp4s = asset.editions[0].streams
    assert hls.default and hls.type == "hls"
    assert [(s.url, s.type, s.mime, s.width, s.height, s.bitrate) for s in mp4s] == [
        ("https://stream.mux.com/p001PlayBackId/low.mp4", "mp4", "video/mp4", 640, 360, 800),
        ("https://stream.mux.com/p001PlayBackId/medium.mp4", "mp4", "video/mp4", 1280, 720, 2000),
        ("https://stream.mux.com/p001PlayBackId/high.mp4", "mp4", "video/mp4", 1920, 1080, 5500),
    ]
    preparing = one_asset(fake, server, tmp_path, static_renditions=mp4_support_files("preparing"))
    assert [s.type for s in preparing.editions[0].streams] == ["hls"]
    assert preparing.notes[0] == "static rendition low.mp4 is preparing on Mux: not read"


def test_static_rendition_objects_are_read_each_by_its_own_status(
    fake: FakeMux, server: ApiServer, tmp_path: Path
) -> None:
    files = [
        rendition("highest"),
        rendition("audio-only"),
        rendition("720p", "preparing"),
        rendition("2160p", "skipped"),
        rendition("480p", "errored"),
    ]
    asset = one_asset(fake, server, tmp_path, static_renditions={"files": files})
    _hls, highest, audio = asset.editions[0].streams
    assert (highest.url, highest.mime, highest.height, highest.bitrate) == (
        "https://stream.mux.com/p001PlayBackId/highest.mp4",
        "video/mp4",
        1080,
        4320,
    )
    assert (audio.url, audio.type, audio.mime, audio.width, audio.bitrate) == (
        "https://stream.mux.com/p001PlayBackId/audio.m4a",
        "mp4",
        "audio/mp4",
        None,
        128,
    )
    assert asset.notes == [
        "static rendition 720p.mp4 is preparing on Mux: not read",
        "static rendition 2160p.mp4 is skipped on Mux: not read",
        "static rendition 480p.mp4 is errored on Mux: not read",
    ]
    # The guide shows the rendition objects as a bare list under static_renditions: read alike.
    bare = one_asset(fake, server, tmp_path, static_renditions=[rendition("highest")])
    assert [s.url.rsplit("/", 1)[-1] for s in bare.editions[0].streams] == ["p001PlayBackId.m3u8", "highest.mp4"]


def test_broken_static_renditions_cost_only_the_renditions(fake: FakeMux, server: ApiServer, tmp_path: Path) -> None:
    asset = one_asset(fake, server, tmp_path, static_renditions={"status": "ready", "files": "high.mp4"})
    assert [s.type for s in asset.editions[0].streams] == ["hls"]
    assert asset.notes == ["Mux's static_renditions holds no list of files: the mp4 renditions were not read"]
    odd = one_asset(
        fake, server, tmp_path, static_renditions={"status": "ready", "files": [7, {"ext": "mp4"}, {"name": "../x"}]}
    )
    assert [s.type for s in odd.editions[0].streams] == ["hls"]
    assert odd.notes == [f"static rendition {n} has no file name: not read" for n in range(3)]


# --- text tracks -------------------------------------------------------------------------------------------------


def test_ready_subtitle_tracks_are_webvtt_links_under_the_public_playback_id(
    fake: FakeMux, server: ApiServer, tmp_path: Path
) -> None:
    base = mux_asset(1, START)["tracks"]
    tracks = [
        *base,
        text_track("tEn1", "en-US", "English", closed_captions=True),
        text_track("tFr2", "fr", "Français"),
        text_track("tDe3", "de", "Deutsch", status="preparing", text_source="generated_vod"),
        text_track("tEs4", "es", "Español", status="errored"),
        text_track("tNl5", "nl", "Nederlands", status="deleted"),
    ]
    asset = one_asset(fake, server, tmp_path, tracks=tracks)
    subtitles = asset.editions[0].subtitles
    assert [(s.url, s.language, s.label, s.expires) for s in subtitles] == [
        ("https://stream.mux.com/p001PlayBackId/text/tEn1.vtt", "en-US", "English", None),
        ("https://stream.mux.com/p001PlayBackId/text/tFr2.vtt", "fr", "Français", None),
    ]
    assert asset.notes == [
        "text track tDe3 is preparing on Mux: not read",
        "text track tEs4 is errored on Mux: not read",
        "text track tNl5 is deleted on Mux: not read",
    ]


def test_hostile_tracks_are_left_out_without_failing_the_asset(
    fake: FakeMux, server: ApiServer, tmp_path: Path
) -> None:
    tracks = [
        7,
        {"type": "text", "id": {"x": 1}},
        text_track("t1", ["en"], {"n": 1}),
        {"type": "video", "max_width": "x"},
    ]  # type: ignore[arg-type]
    asset = one_asset(fake, server, tmp_path, tracks=tracks)
    (subtitle,) = asset.editions[0].subtitles
    assert subtitle.language is None and subtitle.label is None
    (hls,) = asset.editions[0].streams
    assert hls.width is None and hls.height is None


# --- the asset's own state and playback policy ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"status": "preparing"}, "the asset is not ready on Mux yet (status preparing)"),
        (
            {"status": "errored", "errors": {"type": "invalid_input", "messages": ["The input file is not a video"]}},
            "Mux could not process the asset (status errored: invalid_input; The input file is not a video)",
        ),
        ({"status": "errored"}, "Mux could not process the asset (status errored)"),
        (
            {"test": True},
            "the asset is a Mux test asset (watermarked, limited to 10 seconds, deleted by Mux after 24 hours)",
        ),
    ],
)
def test_an_asset_mux_does_not_play_is_unpublished_with_the_reason(
    fake: FakeMux, server: ApiServer, tmp_path: Path, fields: dict[str, Any], reason: str
) -> None:
    asset = one_asset(fake, server, tmp_path, static_renditions=mp4_support_files(), **fields)
    assert asset.unpublished == reason
    if fields.get("status"):  # nothing to play before Mux has processed it
        assert asset.editions[0].streams == [] and asset.images == []


def test_signed_playback_ids_store_no_link_and_unpublish_the_asset(
    fake: FakeMux, server: ApiServer, tmp_path: Path
) -> None:
    signed = one_asset(
        fake,
        server,
        tmp_path,
        playback_ids=[{"policy": "signed", "id": "sIgNeD"}, {"policy": "drm", "id": "dRm"}],
        static_renditions=mp4_support_files(),
        tracks=[text_track("tEn1", "en", "English")],
    )
    assert signed.editions[0].streams == [] and signed.editions[0].subtitles == [] and signed.images == []
    assert signed.unpublished is not None
    assert "plays only with a signed token on Mux (playback policy drm, signed)" in signed.unpublished
    assert "add a public playback ID" in signed.unpublished
    none = one_asset(fake, server, tmp_path, playback_ids=[])
    assert none.unpublished is not None and none.unpublished.startswith("the asset has no playback ID on Mux")
    # Beside a signed one, a public playback id is the one played.
    mixed = one_asset(
        fake, server, tmp_path, playback_ids=[{"policy": "signed", "id": "sIgNeD"}, {"policy": "public", "id": "pUb"}]
    )
    assert mixed.unpublished is None
    assert [s.url for s in mixed.editions[0].streams] == ["https://stream.mux.com/pUb.m3u8"]


def test_hostile_values_fail_their_asset_alone(fake: FakeMux, server: ApiServer, tmp_path: Path) -> None:
    fake.assets = [
        mux_asset(1, START),
        mux_asset(2, START + 1, duration=float("inf")),
        mux_asset(3, START + 2),
        mux_asset(4, START + 3),
        mux_asset(5, START + 4, meta="not an object", playback_ids="pUb"),
    ]
    fake.assets[2]["created_at"] = "yesterday"
    fake.assets[3]["created_at"] = "99999999999999999999"
    fake.assets.append({"no": "id", "created_at": str(START + 5)})
    fetched, items = read_all(server, tmp_path)
    assert fetched.complete and len(items) == 6
    by_id = {i.external_id: i for i in items}
    assert isinstance(by_id["a001Mux00AssetId"], Asset) and by_id["a001Mux00AssetId"].editions[0].streams
    for failed in ("a002Mux00AssetId", "a003Mux00AssetId", "a004Mux00AssetId"):
        assert isinstance(by_id[failed], ItemFailure), failed
    assert "OverflowError" in by_id["a002Mux00AssetId"].errors[0]
    assert "created_at '99999999999999999999' is not an instant" in by_id["a004Mux00AssetId"].errors[0]
    odd = by_id["a005Mux00AssetId"]
    assert isinstance(odd, Asset) and odd.title is None and odd.unpublished.startswith("the asset has no playback ID")
    (nameless,) = [i for i in items if i.external_id is None]
    assert isinstance(nameless, ItemFailure) and nameless.errors == ["ValueError: the item has no id"]


# --- through the CLI into the catalog (SQLite and PostgreSQL) ---------------------------------------------------


def add_source(capsys, server: ApiServer, secret: str = TOKEN_SECRET) -> str:
    assert run_cli(capsys, "services", "add", "acme").code == 0
    added = run_cli(
        capsys,
        "sources",
        "add",
        "--service",
        "acme",
        "--name",
        "mux",
        "--kind",
        "mux",
        "--url",
        server.base + "/",
        "--credential",
        f"token_id={TOKEN_ID}",
        "--credential",
        f"token_secret={secret}",
        "--json",
    )
    assert added.code == 0, added.err
    assert TOKEN_SECRET not in added.out
    return added.json()["id"]


def test_an_environment_imports_through_the_cli_and_a_huge_item_fails_alone(
    loopback: Settings, fake: FakeMux, server: ApiServer, capsys, catalog: Catalog
) -> None:
    fake.assets = [mux_asset(n, START + n) for n in range(4)]
    fake.assets[1]["tracks"].append(text_track("tEn1", "en", "English"))
    fake.assets[2]["status"] = "preparing"
    fake.assets[3]["static_renditions"] = {
        "files": [rendition("highest"), rendition("audio-only"), rendition("720p", "preparing")]
    }
    source_id = add_source(capsys, server)
    done = run_cli(capsys, "import", source_id, "--json")
    result = done.json()
    assert done.code == 0 and result["status"] == "succeeded", result
    assert result["counts"]["created"] == 4 and TOKEN_SECRET not in done.out + done.err
    items = {i["external_id"]: i for i in result["items"]}
    assert items["a002Mux00AssetId"]["reason"] == "unpublished: the asset is not ready on Mux yet (status preparing)"
    assert "static rendition 720p.mp4 is preparing on Mux: not read" in items["a003Mux00AssetId"]["reason"]
    captioned = catalog.get_asset(items["a001Mux00AssetId"]["asset_id"])
    assert captioned["status"] == "published" and captioned["title"] == "Film 1"
    assert captioned["editions"][0]["subtitles"] == [
        {"url": "https://stream.mux.com/p001PlayBackId/text/tEn1.vtt", "language": "en", "label": "English"}
    ]
    assert catalog.get_asset(items["a002Mux00AssetId"]["asset_id"])["status"] == "unpublished"
    rendered = catalog.get_asset(items["a003Mux00AssetId"]["asset_id"])["editions"][0]["streams"]
    assert [s["url"].rsplit("/", 1)[-1] for s in rendered] == ["p003PlayBackId.m3u8", "highest.mp4", "audio.m4a"]
    assert run_cli(capsys, "import", source_id, "--json").json()["status"] == "unchanged"

    captioned_id = items["a001Mux00AssetId"]["asset_id"]
    before = catalog.get_asset(captioned_id)
    fake.assets[1]["tracks"] += [text_track(f"t{n}", "en", f"Track {n}") for n in range(5_000)]
    fake.assets[0]["meta"]["title"] = "Renamed"
    fake.assets[2]["status"] = "ready"  # processed since: published now
    done = run_cli(capsys, "import", source_id, "--json")
    result = done.json()
    items = {i["external_id"]: i for i in result["items"]}
    assert done.code == 0 and result["status"] == "partial"
    assert items["a001Mux00AssetId"]["reason"] == "editions[0].subtitles has 5,001 entries; the limit is 100"
    assert items["a000Mux00AssetId"]["outcome"] == "updated" and items["a002Mux00AssetId"]["outcome"] == "updated"
    assert catalog.get_asset(items["a002Mux00AssetId"]["asset_id"])["status"] == "published"
    assert items["a001Mux00AssetId"]["outcome"] == "failed" and catalog.get_asset(captioned_id) == before
    assert catalog.count_assets(source_id) == 4


def test_a_refused_token_fails_the_cli_import_with_the_settings_to_check(
    loopback: Settings, fake: FakeMux, server: ApiServer, capsys, catalog: Catalog
) -> None:
    source_id = add_source(capsys, server)
    assert run_cli(capsys, "import", source_id, "--json").json()["counts"]["created"] == 23
    fake.token_secret = "rotated-on-mux"
    done = run_cli(capsys, "import", source_id, "--json")
    result = done.json()
    assert done.code == 1 and result["status"] == "failed"
    assert "Mux refused this source's credentials (401" in result["error"]
    assert "--credential token_id and --credential token_secret" in result["error"]
    assert TOKEN_SECRET not in done.out + done.err
    assert catalog.count_assets(source_id) == 23


def test_sources_add_names_the_missing_mux_credentials(loopback: Settings, capsys) -> None:
    assert run_cli(capsys, "services", "add", "acme").code == 0
    refused = run_cli(capsys, "sources", "add", "--service", "acme", "--name", "m", "--kind", "mux")
    assert refused.code == 2
    assert "--credential token_id" in refused.err and "--credential token_secret" in refused.err
    added = run_cli(
        capsys,
        "sources",
        "add",
        "--service",
        "acme",
        "--name",
        "m",
        "--kind",
        "mux",
        "--credential",
        "token_id=abcd",
        "--credential",
        "token_secret=efgh1234",
        "--json",
    )
    assert added.code == 0 and added.json()["url"] == "https://api.mux.com/"
