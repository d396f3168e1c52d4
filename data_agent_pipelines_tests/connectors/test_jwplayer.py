"""The JW Player connector against a fake Management API and the shared Delivery API corpus."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.connectors import jwplayer
from data_agent_pipelines.connectors.jwplayer import JWPlayerConnector
from data_agent_pipelines.connectors.languages import language_of_label
from data_agent_pipelines.errors import SourceAuthError
from data_agent_pipelines.model import Asset, Credit
from data_agent_pipelines.net import HTTPStatusError
from data_agent_pipelines.settings import Settings

from ..clirunner import run_cli
from ..conftest import corpus
from .apiserver import ApiServer, Reply
from .fake_jwplayer import FakeJWPlayer, media, text_track
from .ovp import Sleeps, make_source, run

SECRET = "jw-v2-secret-Zq81"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def created(n: int) -> str:
    return (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=n)).isoformat()


@pytest.fixture
def fake() -> FakeJWPlayer:
    return FakeJWPlayer(SECRET, "SiTe1234", [media(f"m{n:03}", created(n)) for n in range(23)])


@pytest.fixture
def server(fake: FakeJWPlayer):
    with ApiServer(fake).running() as running:
        yield running


def source(server: ApiServer, **options: str):
    return make_source(
        "jwplayer",
        server.base + "/v2/",
        options={"site_id": "SiTe1234", **options},
        credentials={"api_secret": SECRET},
    )


def connector(sleeps: Sleeps) -> JWPlayerConnector:
    return JWPlayerConnector(sleep=sleeps, now=lambda: NOW)


def test_pages_through_the_property_with_renditions_and_custom_params(
    fake: FakeJWPlayer, server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jwplayer, "PAGE_LENGTH", 10)
    fake.items[0]["metadata"].update(
        title="Alpha",
        tags=["drama", " "],
        custom_params={"genres": "Drama, Crime", "crew": "Ann Lee; Director", "studio": "North"},
        publish_end_date="2027-01-01T00:00:00+00:00",
    )
    sleeps = Sleeps()
    fetched, items = run(connector(sleeps), source(server), tmp_path, sleeps)
    assert fetched.complete and "23 items read in 3 pages" in fetched.notes
    assert [i.external_id for i in items] == [f"m{n:03}" for n in range(23)]
    lists = [r for r in server.requests if r.path.endswith("/media/")]
    assert [(r.query["page"], r.query["page_length"]) for r in lists] == [("1", "10"), ("2", "10"), ("3", "10")]
    assert all(r.headers["authorization"] == f"Bearer {SECRET}" and SECRET not in r.path for r in server.requests)
    alpha = items[0]
    assert isinstance(alpha, Asset) and alpha.title == "Alpha" and alpha.tags == ["drama"]
    assert alpha.genres == ["Drama", "Crime"] and alpha.credits[0].name == "Ann Lee"
    assert alpha.custom == {"studio": "North"}
    assert alpha.duration == 61 and alpha.availability.end == datetime(2027, 1, 1, tzinfo=UTC)
    streams = alpha.editions[0].streams
    assert [s.type for s in streams] == ["hls", "mp4", "mp4"] and streams[0].default
    assert streams[2].height == 720 and streams[2].url.endswith("m000-r720.mp4")
    assert fetched.sync_state == {"cursor": NOW.isoformat(), "full_sweep_at": NOW.isoformat()}


def test_the_10000_result_cap_is_passed_by_narrowing_on_created(
    fake: FakeJWPlayer, server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jwplayer, "PAGE_LENGTH", 4)
    monkeypatch.setattr(jwplayer, "QUERY_CAP", 8)
    fake.cap = 8
    # Three items share the created instant at the first window's boundary: none may be lost or read twice.
    for item in fake.items[6:9]:
        item["created"] = created(6)
    sleeps = Sleeps()
    fetched, items = run(connector(sleeps), source(server, renditions="false"), tmp_path, sleeps)
    assert fetched.complete
    assert sorted(i.external_id for i in items) == [f"m{n:03}" for n in range(23)]
    queries = [r.query.get("q") for r in server.requests if r.path.endswith("/media/")]
    assert queries[0] is None and queries[2] == f"created:[{created(7 - 1)} TO *]"


def test_rate_limit_headers_pace_calls_and_429_is_retried_after_retry_after(
    fake: FakeJWPlayer, server: ApiServer, tmp_path: Path
) -> None:
    fake.items = fake.items[:2]
    fake.quota = 1  # the first answer says 0 remaining
    fake.faults.add(Reply({"errors": []}, 429, {"Retry-After": "7"}), when=lambda r: r.path.endswith("renditions/"))
    sleeps = Sleeps()

    def refill(seconds: float) -> None:
        sleeps.append(seconds)
        fake.quota = 100  # the minute has passed

    fetched, items = run(connector(refill), source(server, concurrency="1"), tmp_path, sleeps)
    assert len(items) == 2 and fetched.complete
    assert any(59 < s <= 60 for s in sleeps) and 7.0 in sleeps  # a minute for the spent quota, Retry-After for 429


def test_a_rejected_secret_fails_naming_the_platform_and_setting_but_not_the_secret(
    server: ApiServer, tmp_path: Path
) -> None:
    bad = source(server)
    bad.credentials["api_secret"] = "wrong-secret-value"
    with pytest.raises(SourceAuthError) as caught:
        run(connector(Sleeps()), bad, tmp_path, Sleeps())
    message = str(caught.value)
    assert "JW Player" in message and "api_secret" in message and "401" in message
    assert "wrong-secret-value" not in message and SECRET not in message


def test_a_platform_that_repeats_a_page_stops_paging_as_incomplete(
    fake: FakeJWPlayer, server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jwplayer, "PAGE_LENGTH", 10)
    fake.ignore_page = True
    sleeps = Sleeps()
    fetched, items = run(connector(sleeps), source(server, renditions="false"), tmp_path, sleeps)
    assert not fetched.complete and fetched.sync_state is None
    assert len(items) == 10 and "same page" in " ".join(fetched.notes)


def test_a_server_error_that_persists_mid_way_fails_the_fetch(
    fake: FakeJWPlayer, server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jwplayer, "PAGE_LENGTH", 10)
    for _ in range(4):
        fake.faults.add(Reply({"errors": []}, 503), when=lambda r: r.query.get("page") == "2")
    with pytest.raises(HTTPStatusError, match="503"):
        run(connector(Sleeps()), source(server, renditions="false"), tmp_path, Sleeps())


def test_incremental_fetch_asks_for_changes_only_and_a_full_sweep_comes_back_when_due(
    fake: FakeJWPlayer, server: ApiServer, tmp_path: Path
) -> None:
    fake.items[5]["last_modified"] = "2026-11-01T11:55:00+00:00"
    last = NOW - timedelta(hours=1)
    incremental = source(server, renditions="false", text_tracks="false")
    incremental.sync_state = {"cursor": last.isoformat(), "full_sweep_at": (NOW - timedelta(hours=3)).isoformat()}
    sleeps = Sleeps()
    fetched, items = run(connector(sleeps), incremental, tmp_path, sleeps)
    assert [i.external_id for i in items] == ["m005"]
    assert not fetched.complete  # an incremental fetch never removes anything
    assert server.requests[-1].query["q"] == "last_modified:[2026-11-01T10:50:00 TO *]"
    assert fetched.sync_state == {"cursor": NOW.isoformat(), "full_sweep_at": (NOW - timedelta(hours=3)).isoformat()}
    incremental.sync_state["full_sweep_at"] = (NOW - timedelta(days=2)).isoformat()
    fetched, items = run(connector(sleeps), incremental, tmp_path, sleeps)
    assert len(items) == 23 and fetched.complete and "q" not in server.requests[-1].query


# --- Delivery API --------------------------------------------------------------------------------------------------


def delivery_playlist(name: str) -> dict:
    return json.loads(corpus("jwplayer", name).read_text())


def test_a_delivery_playlist_is_read_across_links_next(tmp_path: Path) -> None:
    films, live = delivery_playlist("delivery-playlist.json"), delivery_playlist("delivery-live-playlist.json")
    pages: dict[str, dict] = {}

    def app(request):
        return Reply(pages[request.path])

    with ApiServer(app).running() as server:
        films["links"]["next"] = "/v2/playlists/dGSUzs9o/2"  # a relative link, resolved against the playlist URL
        pages["/v2/playlists/dGSUzs9o"] = films
        pages["/v2/playlists/dGSUzs9o/2"] = live
        delivery = make_source(
            "jwplayer", server.base + "/v2/playlists/dGSUzs9o", options={"api": "delivery"}, credentials={}
        )
        sleeps = Sleeps()
        fetched, items = run(connector(sleeps), delivery, tmp_path, sleeps)
    assert fetched.complete and len(items) == len(films["playlist"]) + len(live["playlist"])
    agent = next(i for i in items if i.external_id == "uB8aRnu6")
    assert agent.title == "Agent 327" and agent.duration == 231
    assert agent.tags == ["movie", "Action", "not_tvod_demo"]
    assert agent.published_at == datetime.fromtimestamp(1610828100, UTC)
    streams = agent.editions[0].streams
    assert streams[0].type == "hls" and streams[0].default and len(streams) == 7
    mp4 = next(s for s in streams if s.height == 536)
    assert mp4.bitrate == 917 and mp4.width == 1280
    assert len(agent.images) == 6 and agent.images[-1].width == 1920
    assert agent.custom["original_mediaid"] == "JfDmsRlE" and agent.custom["genre"] == "Action"
    assert all(s.expires is None for s in streams)  # unsigned links are permanent
    assert "sources" not in agent.custom and "variations" not in agent.custom
    channel = next(i for i in items if i.external_id == "LEBW145Q")
    assert channel.custom["catchupHours"] == "7" and channel.duration is None


def test_a_delivery_playlist_behind_url_signing_fails_pointing_at_the_url(tmp_path: Path) -> None:
    with ApiServer(lambda request: Reply({"message": "Unauthorized"}, 403)).running() as server:
        signed = make_source("jwplayer", server.base + "/v2/playlists/x", options={"api": "delivery"}, credentials={})
        with pytest.raises(SourceAuthError, match=r"Delivery API.*403.*--url"):
            run(connector(Sleeps()), signed, tmp_path, Sleeps())


def test_signed_delivery_links_carry_their_expiry(tmp_path: Path) -> None:
    # A property with URL signing on: the playlist was requested signed, and the links it lists are signed with
    # `exp`/`sig` (JW's non-JWT form) or a JWT `token` whose `exp` claim says when it stops working.
    playlist = delivery_playlist("delivery-playlist.json")
    item = playlist["playlist"][0]
    claims = base64.urlsafe_b64encode(json.dumps({"resource": "/v2/media/x", "exp": 1893456000}).encode())
    jwt = "eyJhbGciOiJIUzI1NiJ9." + claims.decode().rstrip("=") + ".c2lnbmF0dXJl"
    for n, stream in enumerate(item["sources"]):
        stream["file"] += f"?exp=1893452400&sig=ab{n}"
    item["tracks"] = [{"file": f"https://cdn.jwplayer.com/tracks/t.vtt?token={jwt}", "kind": "captions"}]
    playlist["playlist"], playlist["links"] = [item], {}
    with ApiServer(lambda request: Reply(playlist)).running() as server:
        url = server.base + f"/v2/playlists/x?token={jwt}"
        delivery = make_source("jwplayer", url, options={"api": "delivery"}, credentials={})
        _fetched, (asset,) = run(connector(Sleeps()), delivery, tmp_path, Sleeps())
    edition = asset.editions[0]
    assert {s.expires for s in edition.streams} == {datetime.fromtimestamp(1893452400, UTC)}
    assert [t.expires for t in edition.subtitles] == [datetime.fromtimestamp(1893456000, UTC)]


# --- text tracks, external hosting, the media's own state, the author ------------------------------------------


def one_media(fake: FakeJWPlayer, **changes) -> dict:
    item = fake.items[0]
    fake.items = [item]
    item.update(changes)
    return item


def read_one(fake: FakeJWPlayer, server: ApiServer, tmp_path: Path, **options: str):
    _fetched, (asset,) = run(connector(Sleeps()), source(server, **options), tmp_path, Sleeps())
    return asset


def test_text_tracks_give_captions_with_their_language(fake: FakeJWPlayer, server: ApiServer, tmp_path: Path) -> None:
    one_media(fake)
    fake.text_tracks["m000"] = [
        text_track("tEn1", "English", "en"),
        # The reference pages show no answer: the kind and label are read on the track or in its metadata alike.
        {**text_track("tFr2", "ignored", None, track_kind=None, metadata={"track_kind": "subtitles"}), "label": "FR"},
        text_track("tDe3", "Deutsch", None),  # no srclang: the label names the language
        text_track("tCh4", "Chapters", "en", track_kind="chapters"),
        text_track("tPr5", "Processing", "es", status="processing"),
    ]
    asset = read_one(fake, server, tmp_path)
    subtitles = asset.editions[0].subtitles
    assert [(t.url.rsplit("/", 1)[-1], t.language, t.label) for t in subtitles] == [
        ("tEn1.vtt", "en", "English"),
        ("tFr2.vtt", "fr", "FR"),
        ("tDe3.vtt", "de", "Deutsch"),
    ]
    assert asset.notes == ["text track 4 (tPr5) is processing on JW Player: not read"]
    calls = [r for r in server.requests if r.path.endswith("/text_tracks/")]
    assert [r.path for r in calls] == ["/v2/sites/SiTe1234/media/m000/text_tracks/"]
    assert all(r.headers["authorization"] == f"Bearer {SECRET}" for r in calls)


def test_text_tracks_can_be_skipped(fake: FakeJWPlayer, server: ApiServer, tmp_path: Path) -> None:
    one_media(fake)
    fake.text_tracks["m000"] = [text_track("tEn1", "English", "en")]
    asset = read_one(fake, server, tmp_path, text_tracks="false")
    assert asset.editions[0].subtitles == [] and not any("text_tracks" in r.path for r in server.requests)


def test_broken_and_hostile_text_tracks_cost_only_the_captions_of_their_media(
    fake: FakeJWPlayer, server: ApiServer, tmp_path: Path
) -> None:
    fake.items = fake.items[:4]
    fake.text_tracks["m000"] = {"text_tracks": {"not": "a list"}}
    fake.text_tracks["m001"] = [7, {"id": "x", "track_kind": "captions", "delivery_url": {"href": "y"}}]
    fake.text_tracks["m002"] = [text_track("t", {"label": "dict"}, ["en"])]  # type: ignore[arg-type]
    original = fake.__call__

    def m003_gone(request):  # deleted between the listing and its text tracks call
        if request.path.endswith("/m003/text_tracks/"):
            return Reply({"errors": [{"code": "not_found"}]}, 404)
        return original(request)

    server.app = m003_gone
    fetched, items = run(connector(Sleeps()), source(server), tmp_path, Sleeps())
    found = {i.external_id: i for i in items}
    assert fetched.complete and all(isinstance(i, Asset) and i.editions[0].streams for i in items)
    assert "holds no list of text tracks" in found["m000"].notes[0]
    assert found["m001"].notes == ["text track 1 (x) has no delivery_url: not read"]
    (hostile,) = found["m002"].editions[0].subtitles
    assert hostile.language is None and hostile.label is None
    assert "404" in found["m003"].notes[0]


def test_an_externally_hosted_media_plays_from_its_own_url(
    fake: FakeJWPlayer, server: ApiServer, tmp_path: Path
) -> None:
    one_media(
        fake,
        hosting_type="external",
        source_url="https://media.example.com/films/m000/master.m3u8",
        mime_type="application/vnd.apple.mpegurl",
    )
    asset = read_one(fake, server, tmp_path)
    (stream,) = asset.editions[0].streams
    assert (stream.url, stream.type, stream.default) == (
        "https://media.example.com/films/m000/master.m3u8",
        "hls",
        True,
    )
    assert not any("cdn.jwplayer.com/manifests" in s.url for s in asset.editions[0].streams)
    assert not any(r.path.endswith("/media_renditions/") for r in server.requests)  # JW made none for it


def test_an_external_media_without_a_source_url_has_no_stream_and_says_why(
    fake: FakeJWPlayer, server: ApiServer, tmp_path: Path
) -> None:
    one_media(fake, hosting_type="external", source_url=None, mime_type=None)
    asset = read_one(fake, server, tmp_path)
    assert asset.editions[0].streams == [] and "gives no source_url" in asset.notes[0]


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        ("processing", None, "the media is not ready on JW Player yet (status processing)"),
        ("created", None, "the media is not ready on JW Player yet (status created)"),
        ("failed", "Unsupported codec", "JW Player could not process the media (status failed: Unsupported codec)"),
    ],
)
def test_a_media_that_is_not_ready_is_unpublished_with_the_reason(
    fake: FakeJWPlayer, server: ApiServer, tmp_path: Path, status: str, error: str | None, reason: str
) -> None:
    one_media(fake, status=status, error_message=error)
    asset = read_one(fake, server, tmp_path, renditions="false")
    assert asset.unpublished == reason
    assert not any("/manifests/" in s.url for s in asset.editions[0].streams)


def test_the_author_is_a_credit_and_kept_beside_a_crew_custom_param(
    fake: FakeJWPlayer, server: ApiServer, tmp_path: Path
) -> None:
    fake.items = fake.items[:2]
    fake.items[0]["metadata"]["author"] = "Ann Lee"
    fake.items[1]["metadata"].update(author="Ann Lee", custom_params={"crew": "Bo Ek; Director"})
    _fetched, (alone, with_crew) = run(connector(Sleeps()), source(server, renditions="false"), tmp_path, Sleeps())
    assert alone.credits == [Credit("Ann Lee", "author")]
    assert with_crew.credits == [Credit("Bo Ek", "Director")] and with_crew.custom["author"] == "Ann Lee"


def test_delivery_caption_labels_give_the_language_where_they_name_one(tmp_path: Path) -> None:
    playlist = delivery_playlist("delivery-playlist.json")
    item = playlist["playlist"][0]
    labels = ["English", "ES", "Español (Latinoamérica)", "pt-BR", "CC", "big-buck.vtt"]
    item["tracks"] = [
        *(
            {"file": f"https://cdn.jwplayer.com/tracks/t{n}.vtt", "kind": "captions", "label": label}
            for n, label in enumerate(labels)
        ),
        {"file": "https://cdn.jwplayer.com/tracks/tx.vtt", "kind": "subtitles", "label": "Dutch", "language": "nl-BE"},
        {"file": "https://cdn.jwplayer.com/strips/x-120.vtt", "kind": "thumbnails"},
    ]
    playlist["playlist"] = [item]
    playlist["links"] = {}
    with ApiServer(lambda request: Reply(playlist)).running() as server:
        delivery = make_source("jwplayer", server.base + "/v2/playlists/x", options={"api": "delivery"}, credentials={})
        _fetched, (asset,) = run(connector(Sleeps()), delivery, tmp_path, Sleeps())
    assert [t.language for t in asset.editions[0].subtitles] == ["en", "es", "es", "pt-BR", None, None, "nl-BE"]


@pytest.mark.parametrize(
    ("label", "language"),
    [
        ("English", "en"),
        ("english - SDH", "en"),
        ("EN", "en"),
        ("en_us", "en-US"),
        ("Français", "fr"),
        ("日本語", "ja"),
        ("Nederlands [CC]", "nl"),
        ("TK", None),  # two letters, but no language this table knows: no guess
        ("Klingon", None),
        ("", None),
        (None, None),
    ],
)
def test_language_of_label(label: object, language: str | None) -> None:
    assert language_of_label(label) == language


# --- through the CLI into the catalog (SQLite and PostgreSQL) ---------------------------------------------------


def test_huge_text_tracks_fail_their_media_alone_and_leave_its_asset_as_it_was(
    loopback: Settings, fake: FakeJWPlayer, server: ApiServer, capsys, catalog: Catalog
) -> None:
    fake.items = fake.items[:3]
    fake.text_tracks["m001"] = [text_track("tEn1", "English", "en")]
    assert run_cli(capsys, "services", "add", "acme").code == 0
    args = ["--url", server.base + "/v2/", "--option", "site_id=SiTe1234", "--option", "incremental=false"]
    args += ["--credential", f"api_secret={SECRET}", "--name", "jw", "--kind", "jwplayer"]
    added = run_cli(capsys, "sources", "add", "--service", "acme", *args, "--json")
    source_id = added.json()["id"]
    first = run_cli(capsys, "import", source_id, "--json").json()
    asset_id = next(i["asset_id"] for i in first["items"] if i["external_id"] == "m001")
    before = catalog.get_asset(asset_id)
    assert before["editions"][0]["subtitles"] == [
        {"url": "https://cdn.jwplayer.com/tracks/tEn1.vtt", "language": "en", "label": "English"}
    ]
    fake.text_tracks["m001"] = [text_track(f"t{n}", f"Track {n}", "en") for n in range(5_000)]
    fake.items[1]["metadata"]["title"] = "Renamed"
    fake.items[2]["metadata"]["title"] = "Also renamed"
    done = run_cli(capsys, "import", source_id, "--json")
    result = done.json()
    items = {i["external_id"]: i for i in result["items"]}
    assert done.code == 0 and result["status"] == "partial"
    assert items["m001"]["reason"] == "editions[0].subtitles has 5,000 entries; the limit is 100"
    assert items["m002"]["outcome"] == "updated" and items["m000"]["outcome"] == "unchanged"
    assert catalog.get_asset(asset_id) == before
