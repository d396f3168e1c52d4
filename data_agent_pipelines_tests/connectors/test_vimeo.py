"""The Vimeo connector against a fake Vimeo API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.connectors.vimeo import FIELDS, SPEC, VimeoConnector
from data_agent_pipelines.errors import SourceAuthError
from data_agent_pipelines.limits import OverLimit, bound_asset
from data_agent_pipelines.model import Asset
from data_agent_pipelines.settings import Settings

from ..clirunner import run_cli
from .apiserver import ApiServer, Reply
from .fake_vimeo import FakeVimeo, vimeo_files, vimeo_play, vimeo_texttrack, vimeo_video
from .ovp import Sleeps, cli_import, make_source, run

TOKEN = "vimeo-token-8c1d0e"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> FakeVimeo:
    return FakeVimeo(TOKEN, "studio42", [vimeo_video(1000 + n) for n in range(250)])


@pytest.fixture
def server(fake: FakeVimeo):
    with ApiServer(fake).running() as running:
        yield running


def source(server: ApiServer, **options: str):
    return make_source("vimeo", server.base + "/", options=options, credentials={"access_token": TOKEN})


def test_videos_are_read_following_paging_next_with_trimmed_fields(
    fake: FakeVimeo, server: ApiServer, tmp_path: Path
) -> None:
    fake.videos[0].update(
        name="Alpha",
        description="About birds.",
        tags=[{"name": "birds", "tag": "birds", "canonical": "birds"}],
        categories=[{"name": "Documentary", "uri": "/categories/documentary"}],
        play={
            "hls": {"link": "https://player.vimeo.example/1000.m3u8"},
            "progressive": [{"link": "https://player.vimeo.example/1000-720.mp4", "width": 1280, "height": 720}],
        },
    )
    sleeps = Sleeps()
    fetched, items = run(VimeoConnector(sleep=sleeps), source(server, user_id="studio42"), tmp_path, sleeps)
    assert fetched.complete and len(items) == 250
    assert [r.query["page"] for r in server.requests] == ["1", "2", "3"]
    assert all(r.path == "/users/studio42/videos" and r.query["fields"] == FIELDS for r in server.requests)
    assert all(r.query["per_page"] == "100" for r in server.requests)
    alpha = items[0]
    assert isinstance(alpha, Asset) and alpha.external_id == "1000" and alpha.title == "Alpha"
    assert alpha.tags == ["birds"] and alpha.genres == ["Documentary"] and alpha.duration == 125
    assert alpha.published_at == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert alpha.images[0].width == 640 and alpha.custom["link"] == "https://vimeo.com/1000"
    streams = alpha.editions[0].streams
    assert [(s.type, s.default) for s in streams] == [("hls", True), ("mp4", False)]
    assert "stats" not in fetched.path.read_text()  # fields= trimmed the answers
    assert items[1].editions[0].streams == []  # a token that may not see files or play links


def test_me_is_the_default_user(server: ApiServer, tmp_path: Path) -> None:
    run(VimeoConnector(sleep=Sleeps()), source(server), tmp_path, Sleeps())
    assert server.requests[0].path == "/me/videos"


def test_rate_limit_headers_make_the_next_call_wait_until_the_reset(
    fake: FakeVimeo, server: ApiServer, tmp_path: Path
) -> None:
    fake.remaining = 1
    fake.reset = "2999-01-01T00:00:00+00:00"  # far away: the wait is capped
    sleeps = Sleeps()

    def reset(seconds: float) -> None:
        sleeps.append(seconds)
        fake.remaining = 100

    _fetched, items = run(VimeoConnector(sleep=reset), source(server), tmp_path, Sleeps())
    assert len(items) == 250 and sleeps == [300.0]


def test_a_revoked_token_fails_naming_the_setting(fake: FakeVimeo, server: ApiServer, tmp_path: Path) -> None:
    fake.token = "another-token"
    with pytest.raises(SourceAuthError) as caught:
        run(VimeoConnector(sleep=Sleeps()), source(server), tmp_path, Sleeps())
    assert "Vimeo" in str(caught.value) and "access_token" in str(caught.value) and TOKEN not in str(caught.value)


def test_a_paging_next_that_loops_back_stops_as_incomplete(fake: FakeVimeo, server: ApiServer, tmp_path: Path) -> None:
    original = fake.__call__

    def looping(request):
        reply = original(request)
        if request.query.get("page") == "2":
            reply.body["paging"]["next"] = reply.body["paging"]["previous"]  # page 3 -> page 1 again
        return reply

    server.app = looping
    fetched, items = run(VimeoConnector(sleep=Sleeps()), source(server), tmp_path, Sleeps())
    assert not fetched.complete and len(items) == 200
    assert "same page" in " ".join(fetched.notes)


def test_server_errors_are_retried(fake: FakeVimeo, server: ApiServer, tmp_path: Path) -> None:
    fake.faults.add(Reply({"error": "busy"}, 503, {"Retry-After": "2"}))
    sleeps = Sleeps()
    _fetched, items = run(VimeoConnector(sleep=Sleeps()), source(server), tmp_path, sleeps)
    assert len(items) == 250 and sleeps == [2.0]


def connector(sleeps: Sleeps | None = None) -> VimeoConnector:
    return VimeoConnector(sleep=sleeps or Sleeps(), now=lambda: NOW)


def read(fake: FakeVimeo, server: ApiServer, tmp_path: Path, **options: str):
    return run(connector(), source(server, **options), tmp_path, Sleeps())


def by_id(items: list) -> dict:
    return {item.external_id: item for item in items}


# --- streams: files first, the HLS file as HLS, play links only as a fallback and with their expiry ---------------


def test_files_links_are_preferred_and_their_hls_entry_is_the_hls_stream(
    fake: FakeVimeo, server: ApiServer, tmp_path: Path
) -> None:
    fake.videos = [vimeo_video(7, files=vimeo_files(7), play=vimeo_play(7, "2026-11-02T12:00:00+00:00"))]
    _fetched, items = read(fake, server, tmp_path)
    (video,) = items
    streams = video.editions[0].streams
    # Vimeo types the HLS entry video/mp4; it is the HLS stream, not a third mp4 rendition.
    assert [(s.type, s.mime, s.height, s.default) for s in streams] == [
        ("hls", "application/vnd.apple.mpegurl", None, True),
        ("mp4", "video/mp4", 1080, False),
        ("mp4", "video/mp4", 360, False),
    ]
    assert streams[0].url.endswith("7.m3u8?s=4743&oauth2_token_id=7")
    assert all(s.expires is None and "player.vimeo.example/external/" in s.url for s in streams)  # no play link
    assert video.notes == [] and video.unpublished is None


def test_play_links_are_used_only_without_files_and_carry_their_expiry(
    fake: FakeVimeo, server: ApiServer, tmp_path: Path
) -> None:
    fake.videos = [vimeo_video(8, play=vimeo_play(8, "2026-11-02T12:00:00+00:00"))]
    _fetched, (video,) = read(fake, server, tmp_path)
    streams = video.editions[0].streams
    assert [(s.type, s.default) for s in streams] == [("hls", True), ("mp4", False)]
    assert {s.expires for s in streams} == {datetime(2026, 11, 2, 12, tzinfo=UTC)}


def test_without_the_video_files_scope_every_asset_and_the_fetch_say_so(
    fake: FakeVimeo, server: ApiServer, tmp_path: Path
) -> None:
    fake.videos = [vimeo_video(n, files=vimeo_files(n)) for n in range(3)]
    fake.scopes = {"public", "private"}
    fetched, items = read(fake, server, tmp_path)
    assert all(isinstance(i, Asset) and i.editions[0].streams == [] for i in items)
    assert all("video_files scope" in i.notes[0] for i in items)
    assert any("3 of 3 videos came without file links" in note and "video_files" in note for note in fetched.notes)
    assert "video_files" in SPEC.access_hint


# --- the platform's own state: private and not-yet-available videos are unpublished, with the reason ---------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"privacy": {"view": "nobody"}}, "private on Vimeo: only its owner may view it (privacy.view nobody)"),
        ({"privacy": {"view": "password"}}, "it is password-protected (privacy.view password)"),
        ({"privacy": {"view": "users"}}, "only logged-in Vimeo members may view it"),
        ({"status": "transcoding"}, "not available on Vimeo yet (status transcoding)"),
        ({"status": "uploading_error"}, "Vimeo cannot play the video (status uploading_error)"),
    ],
)
def test_private_and_unavailable_videos_are_unpublished_with_the_reason(
    fake: FakeVimeo, server: ApiServer, tmp_path: Path, changes: dict, reason: str
) -> None:
    fake.videos = [vimeo_video(1, files=vimeo_files(1), **changes)]
    _fetched, (video,) = read(fake, server, tmp_path)
    assert reason in video.unpublished


@pytest.mark.parametrize("view", ["anybody", "unlisted", "disable"])
def test_public_unlisted_and_hidden_from_vimeo_videos_are_published(
    fake: FakeVimeo, server: ApiServer, tmp_path: Path, view: str
) -> None:
    fake.videos = [vimeo_video(1, files=vimeo_files(1), privacy={"view": view})]
    _fetched, (video,) = read(fake, server, tmp_path)
    assert video.unpublished is None and video.notes == []


def test_an_undocumented_privacy_value_is_published_and_noted(
    fake: FakeVimeo, server: ApiServer, tmp_path: Path
) -> None:
    fake.videos = [vimeo_video(1, files=vimeo_files(1), privacy={"view": "team"})]
    _fetched, (video,) = read(fake, server, tmp_path)
    assert video.unpublished is None and "privacy.view team is not one Vimeo documents" in video.notes[0]


# --- captions from /videos/{id}/texttracks ---------------------------------------------------------------------


def captioned(number: int, tracks: int) -> dict:
    connections = {"texttracks": {"uri": f"/videos/{number}/texttracks", "total": tracks}}
    return vimeo_video(number, files=vimeo_files(number), metadata={"connections": connections})


def test_captions_are_read_with_language_label_and_expiry(fake: FakeVimeo, server: ApiServer, tmp_path: Path) -> None:
    epoch = int(datetime(2026, 11, 2, tzinfo=UTC).timestamp())
    fake.videos = [captioned(1, 4), vimeo_video(2, files=vimeo_files(2))]
    fake.texttracks["1"] = [
        vimeo_texttrack(1, 11, "en", "English", epoch),
        # The API reference writes link_expires_time as ISO text, some clients' models as epoch seconds: both read.
        vimeo_texttrack(1, 12, "fr", "Français", epoch, link_expires_time="2026-11-02T00:00:00+00:00"),
        vimeo_texttrack(1, 13, "de", "Deutsch", epoch, active=False),
        vimeo_texttrack(1, 14, "en", "Chapters", epoch, type="chapters"),
    ]
    _fetched, items = read(fake, server, tmp_path)
    subtitles = by_id(items)["1"].editions[0].subtitles
    assert [(t.language, t.label, t.expires) for t in subtitles] == [
        ("en", "English", datetime(2026, 11, 2, tzinfo=UTC)),
        ("fr", "Français", datetime(2026, 11, 2, tzinfo=UTC)),
    ]
    assert subtitles[0].url.startswith("https://captions.cloud.vimeo.example/captions/11.vtt?expires=")
    calls = [r.path for r in server.requests if r.path.endswith("/texttracks")]
    assert calls == ["/videos/1/texttracks"]  # a video that says it has no text tracks costs no call
    assert by_id(items)["2"].editions[0].subtitles == []


def test_texttracks_can_be_skipped(fake: FakeVimeo, server: ApiServer, tmp_path: Path) -> None:
    fake.videos = [captioned(1, 1)]
    fake.texttracks["1"] = [vimeo_texttrack(1, 11, "en", "English", 1_800_000_000)]
    _fetched, (video,) = read(fake, server, tmp_path, texttracks="false")
    assert video.editions[0].subtitles == [] and not any(r.path.endswith("/texttracks") for r in server.requests)


def test_broken_and_hostile_texttracks_answers_cost_only_the_captions_of_their_video(
    fake: FakeVimeo, server: ApiServer, tmp_path: Path
) -> None:
    fake.videos = [captioned(n, 1) for n in range(1, 6)]
    fake.texttracks["1"] = {"total": 1, "data": "not a list"}
    fake.texttracks["2"] = [{"uri": "/videos/2/texttracks/9", "type": "captions", "link": {"href": "x"}}, 7]
    fake.texttracks["3"] = [vimeo_texttrack(3, 31, "en", "English", 1_800_000_000, link_expires_time="soon")]
    fake.texttracks["4"] = [vimeo_texttrack(4, 41, {"code": "en"}, "English", 1_800_000_000)]
    fake.videos.append(captioned(6, 1))
    fake.texttracks["6"] = [vimeo_texttrack(6, 61, "en", "English", 1_800_000_000)]
    original = fake.__call__

    def video_6_gone(request):  # deleted between the listing and its texttracks call
        if request.path == "/videos/6/texttracks":
            return Reply({"error": "The requested video couldn't be found."}, 404)
        return original(request)

    server.app = video_6_gone
    fetched, items = read(fake, server, tmp_path)
    found = by_id(items)
    assert fetched.complete and len(items) == 6
    assert "holds no list of text tracks" in found["1"].notes[0] and found["1"].editions[0].streams
    assert "text track 0 (/videos/2/texttracks/9) has no link" in found["2"].notes[0]
    # An unreadable expiry costs nothing but a remark: the link's own expires= says when it ends.
    assert found["3"].editions[0].subtitles[0].expires == datetime.fromtimestamp(1_800_000_000, UTC)
    assert "the expiry 'soon' is not an instant" in found["3"].notes[0]
    assert found["4"].editions[0].subtitles[0].language is None  # a language that is no text is left out
    assert found["5"].editions[0].subtitles == []  # the fake has no tracks for it
    assert "404" in found["6"].notes[0] and found["6"].editions[0].streams


def test_hostile_and_huge_values_of_the_new_fields_cost_only_their_video(
    fake: FakeVimeo, server: ApiServer, tmp_path: Path
) -> None:
    fake.videos = [
        vimeo_video(1, files=vimeo_files(1), privacy="nobody", metadata=[]),
        vimeo_video(2, status={"code": 3}, files={"hd": "x"}, play=["x"]),
        vimeo_video(3, files=[7, {"quality": "hls", "link": 12}, {"link": "https://x/y.mp4", "width": "wide"}]),
        vimeo_video(4, play={"hls": {"link": "https://p/4.m3u8", "link_expiration_time": ["x"]}}),
        vimeo_video(
            5, files=[{"quality": "sd", "type": "video/mp4", "link": f"https://x/{n}.mp4"} for n in range(5_000)]
        ),
        vimeo_video(6, files=vimeo_files(6)),
    ]
    fetched, items = read(fake, server, tmp_path)
    found = by_id(items)
    assert fetched.complete and all(isinstance(i, Asset) for i in items)
    assert found["1"].unpublished is None and found["1"].editions[0].streams  # privacy not an object: published
    assert found["2"].unpublished == "Vimeo cannot play the video (status {'code': 3})"
    assert found["2"].editions[0].streams == []
    assert [s.url for s in found["3"].editions[0].streams] == ["https://x/y.mp4"]
    assert "is not an instant" in found["4"].notes[0] and found["4"].editions[0].streams[0].expires is None
    with pytest.raises(OverLimit, match="streams has 5,000 entries; the limit is 100"):
        bound_asset(found["5"])
    assert bound_asset(found["3"]) == ["editions[0].streams[0].width 'wide' is not a whole number: dropped"]
    assert len(found["6"].editions[0].streams) == 3


# --- incremental fetching ------------------------------------------------------------------------------------------


def test_incremental_fetch_reads_videos_modified_since_newest_first_and_a_full_sweep_comes_back(
    fake: FakeVimeo, server: ApiServer, tmp_path: Path
) -> None:
    for n, video in enumerate(fake.videos):
        video["modified_time"] = (NOW - timedelta(days=3, minutes=n)).isoformat()
    fake.videos[40]["modified_time"] = (NOW - timedelta(minutes=30)).isoformat()
    fake.videos[200]["modified_time"] = (NOW - timedelta(minutes=5)).isoformat()
    incremental = source(server)
    incremental.sync_state = {
        "cursor": (NOW - timedelta(hours=1)).isoformat(),
        "full_sweep_at": (NOW - timedelta(hours=3)).isoformat(),
    }
    fetched, items = run(connector(), incremental, tmp_path, Sleeps())
    assert [i.external_id for i in items] == ["1200", "1040"]
    assert not fetched.complete  # an incremental fetch never removes anything
    assert [(r.query["sort"], r.query["direction"]) for r in server.requests] == [("modified_time", "desc")]
    assert fetched.sync_state == {"cursor": NOW.isoformat(), "full_sweep_at": (NOW - timedelta(hours=3)).isoformat()}
    # Vimeo's full sweep (which renews its expiring links) is due after 12 hours by default, not a day.
    incremental.sync_state["full_sweep_at"] = (NOW - timedelta(hours=13)).isoformat()
    fetched, items = run(connector(), incremental, tmp_path, Sleeps())
    assert len(items) == 250 and fetched.complete and "sort" not in server.requests[-1].query
    assert fetched.sync_state == {"cursor": NOW.isoformat(), "full_sweep_at": NOW.isoformat()}


def test_an_unreadable_modified_time_is_read_again_rather_than_missed(
    fake: FakeVimeo, server: ApiServer, tmp_path: Path
) -> None:
    fake.videos = fake.videos[:3]
    fake.videos[0]["modified_time"] = "yesterday-ish"
    for video in fake.videos[1:]:
        video["modified_time"] = (NOW - timedelta(days=3)).isoformat()
    incremental = source(server)
    incremental.sync_state = {"cursor": NOW.isoformat(), "full_sweep_at": NOW.isoformat()}
    _fetched, items = run(connector(), incremental, tmp_path, Sleeps())
    assert [i.external_id for i in items] == ["1000"]


# --- through the CLI into the catalog (SQLite and PostgreSQL) ---------------------------------------------------


def add_vimeo_source(capsys, server: ApiServer, *options: str) -> str:
    assert run_cli(capsys, "services", "add", "acme").code == 0
    args = ["--url", server.base + "/", "--credential", f"access_token={TOKEN}", *options]
    added = run_cli(capsys, "sources", "add", "--service", "acme", "--name", "v", "--kind", "vimeo", *args, "--json")
    assert added.code == 0, added.err
    return added.json()["id"]


def test_renewed_caption_signatures_keep_the_asset_unchanged_but_its_links_fresh(
    loopback: Settings, fake: FakeVimeo, server: ApiServer, capsys, catalog: Catalog
) -> None:
    fake.videos = [captioned(1, 1), vimeo_video(2, files=vimeo_files(2))]
    fake.texttracks["1"] = [vimeo_texttrack(1, 11, "en", "English", 1_800_000_000)]
    source_id = add_vimeo_source(capsys, server, "--option", "incremental=false")
    first, items = cli_import(capsys, source_id)
    assert first["counts"]["created"] == 2
    fake.texttracks["1"] = [vimeo_texttrack(1, 11, "en", "English", 1_800_086_400)]  # signed a day later
    second, items = cli_import(capsys, source_id)
    assert second["counts"] == {**second["counts"], "updated": 0, "unchanged": 2}
    assert items["1"]["reason"] == "renewed 1 expiring link (the origin signs them with an expiry)"
    (caption,) = catalog.get_asset(items["1"]["asset_id"])["editions"][0]["subtitles"]
    assert "expires=1800086400" in caption["url"] and caption["expires"] == "2027-01-16T08:00:00Z"
    fake.texttracks["1"] = [vimeo_texttrack(1, 11, "en", "English (CC)", 1_800_172_800)]  # a real change
    _third, items = cli_import(capsys, source_id)
    assert items["1"]["outcome"] == "updated" and "editions" in items["1"]["data"]


def test_a_video_made_private_is_unpublished_and_published_again_when_public(
    loopback: Settings, fake: FakeVimeo, server: ApiServer, capsys, catalog: Catalog
) -> None:
    fake.videos = [vimeo_video(n, files=vimeo_files(n)) for n in range(3)]
    fake.videos.append(vimeo_video(3, status="transcoding"))
    source_id = add_vimeo_source(capsys, server, "--option", "incremental=false")
    result, items = cli_import(capsys, source_id)
    assert result["status"] == "succeeded" and result["counts"]["created"] == 4
    transcoding = catalog.get_asset(items["3"]["asset_id"])
    assert transcoding["status"] == "unpublished" and "status transcoding" in items["3"]["reason"]
    fake.videos[1]["privacy"] = {"view": "nobody"}
    fake.videos[3] = vimeo_video(3, files=vimeo_files(3))
    result, items = cli_import(capsys, source_id)
    assert items["1"]["outcome"] == "updated" and "private on Vimeo" in items["1"]["reason"]
    assert catalog.get_asset(items["1"]["asset_id"])["status"] == "unpublished"
    assert items["3"]["outcome"] == "updated" and catalog.get_asset(items["3"]["asset_id"])["status"] == "published"
    assert items["0"]["outcome"] == "unchanged"
    fake.videos[1]["privacy"] = {"view": "anybody"}
    result, items = cli_import(capsys, source_id)
    assert items["1"]["reason"].startswith("published again")
    assert catalog.get_asset(items["1"]["asset_id"])["status"] == "published"


def test_a_huge_texttracks_answer_fails_its_video_alone_and_leaves_its_asset_as_it_was(
    loopback: Settings, fake: FakeVimeo, server: ApiServer, capsys, catalog: Catalog
) -> None:
    fake.videos = [captioned(1, 1), vimeo_video(2, files=vimeo_files(2))]
    fake.texttracks["1"] = [vimeo_texttrack(1, 11, "en", "English", 1_800_000_000)]
    source_id = add_vimeo_source(capsys, server, "--option", "incremental=false")
    _result, items = cli_import(capsys, source_id)
    before = catalog.get_asset(items["1"]["asset_id"])
    fake.texttracks["1"] = [vimeo_texttrack(1, n, "en", f"Track {n}", 1_800_000_000) for n in range(5_000)]
    fake.videos[1]["name"] = "Renamed"
    result, items = cli_import(capsys, source_id)
    assert result["status"] == "partial"
    assert items["1"]["outcome"] == "failed"
    assert items["1"]["reason"] == "editions[0].subtitles has 5,000 entries; the limit is 100"
    assert items["2"]["outcome"] == "updated"
    assert catalog.get_asset(items["1"]["asset_id"] or before["id"]) == before
