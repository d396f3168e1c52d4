"""The Kaltura connector against a fake API v3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.connectors import kaltura
from data_agent_pipelines.connectors.kaltura import KalturaConnector
from data_agent_pipelines.errors import PlatformError, SourceAuthError
from data_agent_pipelines.model import Asset, ItemFailure
from data_agent_pipelines.settings import Settings

from ..clirunner import run_cli
from .apiserver import ApiServer, Reply
from .fake_kaltura import FakeKaltura, caption, entry, exception, metadata
from .ovp import Sleeps, cli_import, make_source, run

SECRET = "kaltura-admin-secret-41e9"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
EPOCH = 1_700_000_000


@pytest.fixture
def fake() -> FakeKaltura:
    return FakeKaltura("555", SECRET, [entry(f"0_e{n:03}", EPOCH + n * 60) for n in range(27)])


@pytest.fixture
def server(fake: FakeKaltura):
    with ApiServer(fake).running() as running:
        yield running


def source(server: ApiServer, credentials: dict[str, str] | None = None, **options: str):
    return make_source(
        "kaltura",
        server.base + "/",
        options={"partner_id": "555", **options},
        credentials=credentials or {"admin_secret": SECRET},
    )


def connector() -> KalturaConnector:
    return KalturaConnector(sleep=Sleeps(), now=lambda: NOW)


def test_entries_are_listed_with_a_session_and_flavors(
    fake: FakeKaltura, server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kaltura, "PAGE_SIZE", 10)
    fake.entries[0].update(
        name="Alpha", tags="nature, birds", categories="Docs>Nature,Kids", referenceId="ref-1", endDate=EPOCH + 86400
    )
    fetched, items = run(connector(), source(server), tmp_path, Sleeps())
    assert fetched.complete and len(items) == 27 and len(fake.sessions) == 1
    for request in server.requests:
        assert request.method == "POST" and SECRET not in request.path and "ks" not in request.query
    lists = [r.json()["pager"]["pageIndex"] for r in server.requests if r.path.endswith("media/action/list")]
    assert lists == [1, 2, 3]
    alpha = items[0]
    assert isinstance(alpha, Asset) and alpha.title == "Alpha" and alpha.duration == 95
    assert alpha.tags == ["nature", "birds"] and alpha.genres == ["Docs>Nature", "Kids"]
    assert alpha.custom == {"reference_id": "ref-1", "access_control_id": "4711"}
    assert alpha.availability.end == datetime.fromtimestamp(EPOCH + 86400, UTC)
    assert alpha.images[0].url.startswith("https://cfvod.example/p/555/thumbnail/entry_id/0_e000")
    streams = alpha.editions[0].streams
    assert streams[0].type == "hls" and streams[0].default
    assert (
        streams[0].url
        == f"{server.base}/p/555/sp/55500/playManifest/entryId/0_e000/format/applehttp/protocol/http/a.m3u8"
    )
    assert [(s.type, s.height, s.bitrate) for s in streams[1:]] == [("mp4", 360, 1080), ("mp4", 720, 2160)]


def test_the_10000_entry_cap_is_passed_by_windowing_on_created_at(
    fake: FakeKaltura, server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kaltura, "PAGE_SIZE", 5)
    monkeypatch.setattr(kaltura, "LIST_CAP", 10)
    fake.cap = 10
    for e in fake.entries[8:12]:
        e["createdAt"] = EPOCH + 9 * 60  # four entries straddle the first window's boundary
    fetched, items = run(connector(), source(server), tmp_path, Sleeps())
    assert fetched.complete
    assert sorted(i.external_id for i in items) == [f"0_e{n:03}" for n in range(27)]
    windows = [r.json()["filter"].get("createdAtGreaterThanOrEqual") for r in server.requests if "media/" in r.path]
    assert windows[:3] == [None, None, EPOCH + 9 * 60]


def test_an_expired_session_is_started_again(fake: FakeKaltura, server: ApiServer, tmp_path: Path) -> None:
    fake.entries = fake.entries[:2]
    fake.calls_per_session = 1  # the KS of the first call is refused at the second: a new session is started
    quiet = source(server, captions="false", metadata="false")  # the list and the flavors: two calls
    _fetched, items = run(connector(), quiet, tmp_path, Sleeps())
    assert len(items) == 2 and len(fake.sessions) == 2
    calls = [r.json().get("ks") for r in server.requests if "session/" not in r.path]
    assert calls == [fake.sessions[0], fake.sessions[0], fake.sessions[1]]  # the retry carries the new KS


def test_a_wrong_admin_secret_fails_naming_the_setting(server: ApiServer, tmp_path: Path) -> None:
    with pytest.raises(SourceAuthError) as caught:
        run(connector(), source(server, {"admin_secret": "wrong-admin-secret"}), tmp_path, Sleeps())
    assert "Kaltura" in str(caught.value) and "admin_secret" in str(caught.value)
    assert "wrong-admin-secret" not in str(caught.value)


def test_a_given_ks_that_kaltura_refuses_fails_without_echoing_it(server: ApiServer, tmp_path: Path) -> None:
    given_ks = "djJ8NTU1fGivenButStale"
    with pytest.raises(SourceAuthError) as caught:
        run(connector(), source(server, {"ks": given_ks}), tmp_path, Sleeps())
    assert "--credential ks" in str(caught.value) and given_ks not in str(caught.value)


def test_other_api_errors_fail_with_the_code_and_no_credentials(fake: FakeKaltura, server: ApiServer, tmp_path):
    fake.faults.add(Reply(exception("INTERNAL_DATABASE_ERROR", f"db down for {SECRET}")), lambda r: "media/" in r.path)
    with pytest.raises(PlatformError) as caught:
        run(connector(), source(server), tmp_path, Sleeps())
    assert "INTERNAL_DATABASE_ERROR" in str(caught.value) and SECRET not in str(caught.value)


def test_incremental_fetch_filters_on_updated_at(fake: FakeKaltura, server: ApiServer, tmp_path: Path) -> None:
    fake.entries[3]["updatedAt"] = int(NOW.timestamp()) - 60
    changed = source(server)
    changed.sync_state = {"cursor": (NOW - timedelta(hours=1)).isoformat(), "full_sweep_at": NOW.isoformat()}
    fetched, items = run(connector(), changed, tmp_path, Sleeps())
    assert [i.external_id for i in items] == ["0_e003"] and not fetched.complete
    media = [r.json()["filter"] for r in server.requests if "media/" in r.path]
    assert media[0]["updatedAtGreaterThanOrEqual"] == int((NOW - timedelta(hours=1, minutes=10)).timestamp())


# --- media type, status, the source flavor, captions, custom metadata ----------------------------------------------


def test_only_ready_video_entries_play_others_are_skipped_or_unpublished(
    fake: FakeKaltura, server: ApiServer, tmp_path: Path
) -> None:
    fake.entries = fake.entries[:12]
    fake.entries[1]["mediaType"] = 2  # image
    fake.entries[2]["mediaType"] = "5"  # audio, the enum as text
    fake.entries[3]["status"] = 3  # deleted: not asked for, so not listed
    fake.entries[4]["status"] = 4  # pending
    fake.entries[5]["status"] = -1  # conversion failed
    fake.entries[6]["status"] = "virusScan.Infected"  # a plugin's status: not asked for either
    fake.entries[7]["status"] = "2"  # READY as text
    fake.entries[8]["mediaType"] = "1"
    fake.entries[9]["status"] = 1  # still converting
    fake.entries[10]["moderationStatus"] = 1  # READY, but awaiting moderation
    fake.entries[11]["moderationStatus"] = "3"  # READY, but rejected
    fetched, items = run(connector(), source(server), tmp_path, Sleeps())
    found = {i.external_id: i for i in items}
    assert sorted(found) == ["0_e000", "0_e004", "0_e005", "0_e007", "0_e008", "0_e009", "0_e010", "0_e011"]
    lists = [r.json()["filter"] for r in server.requests if r.path.endswith("media/action/list")]
    assert {(f["statusIn"], f["moderationStatusIn"]) for f in lists} == {("-2,-1,0,1,2,4,5,6,7", "1,2,3,5,6")}
    for ready in ("0_e000", "0_e007", "0_e008"):
        streams = found[ready].editions[0].streams
        assert found[ready].unpublished is None and streams[0].type == "hls"
        assert [s.height for s in streams[1:]] == [360, 720]  # the original upload (tag source) is no stream
        assert not any("-source" in s.url for s in streams)
    assert "not ready on Kaltura: it is pending (status PENDING)" in str(found["0_e004"].unpublished)
    assert "its conversion failed (status ERROR_CONVERTING)" in str(found["0_e005"].unpublished)
    assert "still being converted (status PRECONVERT)" in str(found["0_e009"].unpublished)
    assert "awaits moderation (moderationStatus PENDING_MODERATION)" in str(found["0_e010"].unpublished)
    assert "rejected in moderation (moderationStatus REJECTED)" in str(found["0_e011"].unpublished)
    withheld = ("0_e004", "0_e005", "0_e009")
    assert all(not found[i].editions[0].streams for i in withheld)  # nothing to play yet: no manifest
    flavor_ids = [r.json()["filter"]["entryIdIn"] for r in server.requests if "flavorasset" in r.path]
    assert not any(skipped in flavor_ids[0] for skipped in ("0_e001", "0_e002"))
    parse = connector().parse(source(server), fetched)
    list(parse)
    assert sorted(parse.notes) == [
        "1 item skipped, not video entries (mediaType 2, image): 0_e001",
        "1 item skipped, not video entries (mediaType 5, audio): 0_e002",
    ]


def test_statuses_not_asked_for_are_still_read_if_listed(server: ApiServer) -> None:
    """A deleted entry is skipped and a plugin's status withholds the entry, should a listing carry them."""
    assert kaltura.skip_reason(entry("0_gone", EPOCH, status="3")) == "deleted in Kaltura (status DELETED)"
    infected = kaltura.entry_asset(entry("0_bad", EPOCH, status="virusScan.Infected"), source(server), "555")
    assert infected.unpublished == "Kaltura cannot play the entry (status virusScan.Infected)"
    assert infected.editions[0].streams == []


def test_captions_are_read_as_subtitles_served_by_kaltura(fake: FakeKaltura, server: ApiServer, tmp_path: Path):
    fake.entries = fake.entries[:2]
    fake.captions["0_e000"] = [
        caption("0_e000", 1, "en", "English"),  # SRT, format as the string enum
        caption("0_e000", 2, "", "Français", label="French (CC)", format=3, fileExt="vtt"),  # no code: by name
        caption("0_e000", 3, "de", "German", format="5"),  # SCC: a broadcast format
        caption("0_e000", 4, "es", "Spanish", status=1),  # not ready
    ]
    _fetched, items = run(connector(), source(server), tmp_path, Sleeps())
    subtitles = items[0].editions[0].subtitles
    assert [(t.language, t.label) for t in subtitles] == [("en", "English"), ("fr", "French (CC)")]
    assert subtitles[0].url == f"{server.base}/api_v3/service/caption_captionasset/action/serve/captionAssetId/1_cap1"
    assert all(t.expires is None for t in subtitles) and "ks" not in subtitles[0].url
    assert items[0].notes == ["caption 1_cap3 is in SCC, a broadcast format web players do not read: not imported"]
    assert items[1].editions[0].subtitles == []
    calls = [r.json()["filter"] for r in server.requests if "caption_captionasset" in r.path]
    assert calls == [{"objectType": "KalturaCaptionAssetFilter", "entryIdIn": "0_e000,0_e001"}]


def test_custom_metadata_fields_become_custom_values(fake: FakeKaltura, server: ApiServer, tmp_path: Path) -> None:
    fake.entries = fake.entries[:3]
    fake.metadata["0_e000"] = [
        metadata("0_e000", 11, "<metadata><Rating>PG</Rating><Cast>Ann</Cast><Cast>Bob</Cast><Empty/></metadata>"),
        metadata("0_e000", 12, '<?xml version="1.0"?><metadata><Studio>North</Studio></metadata>'),
    ]
    fake.metadata["0_e001"] = [metadata("0_e001", 11, "<metadata><Rating>PG")]  # cut short
    entities = '<!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    bomb = f'<?xml version="1.0"?>{entities}<metadata><X>&b;</X></metadata>'
    fake.metadata["0_e002"] = [metadata("0_e002", 11, bomb)]
    _fetched, items = run(connector(), source(server), tmp_path, Sleeps())
    assert items[0].custom == {"Rating": "PG", "Cast": "Ann, Bob", "Studio": "North", "access_control_id": "4711"}
    assert items[1].custom == {"access_control_id": "4711"} and "is not well-formed XML" in items[1].notes[0]
    assert "aaaaaaaaaa" not in str(items[2].custom)  # entities are not expanded
    calls = [r.json()["filter"] for r in server.requests if "metadata_metadata" in r.path]
    assert calls == [
        {"objectType": "KalturaMetadataFilter", "metadataObjectTypeEqual": 1, "objectIdIn": "0_e000,0_e001,0_e002"}
    ]


def test_a_partner_without_the_caption_and_metadata_plugins_still_imports(
    fake: FakeKaltura, server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kaltura, "PAGE_SIZE", 10)
    fake.plugins_off = {"caption_captionasset/action/list", "metadata_metadata/action/list"}
    fetched, items = run(connector(), source(server), tmp_path, Sleeps())
    assert len(items) == 27 and all(isinstance(i, Asset) for i in items)
    notes = " ".join(fetched.notes)
    assert "the captions of the entries were not read" in notes and "--option captions=false" in notes
    assert "the custom metadata of the entries were not read" in notes
    asked = [r.path for r in server.requests if "caption_" in r.path or "metadata_" in r.path]
    assert len(asked) == 4  # each refused once (and once more with a fresh session), then not asked again


def test_captions_and_metadata_can_be_left_unread(fake: FakeKaltura, server: ApiServer, tmp_path: Path) -> None:
    run(connector(), source(server, captions="false", metadata="false"), tmp_path, Sleeps())
    assert not [r for r in server.requests if "caption_" in r.path or "metadata_" in r.path]


def test_hostile_entries_fail_alone(fake: FakeKaltura, server: ApiServer, tmp_path: Path) -> None:
    fake.entries = fake.entries[:6]
    fake.entries[1]["mediaType"] = [1]
    fake.entries[2]["status"] = {"code": 2}
    del fake.entries[3]["id"]
    fake.captions["0_e004"] = [caption("0_e004", 1, "en", "English", format=True)]
    fake.metadata["0_e005"] = [{"objectType": "KalturaMetadata", "objectId": "0_e005", "xml": ["<metadata/>"]}]
    fetched, items = run(connector(), source(server), tmp_path, Sleeps())
    assert fetched.complete and len(items) == 6
    failures = {i.external_id: " ".join(i.errors) for i in items if isinstance(i, ItemFailure)}
    assert set(failures) == {"0_e001", "0_e002", None, "0_e004"}
    assert "mediaType is a list" in failures["0_e001"] and "status is a dict" in failures["0_e002"]
    assert "format is True" in failures["0_e004"]
    good = {i.external_id for i in items if isinstance(i, Asset)}
    assert good == {"0_e000", "0_e005"}


# --- through the CLI into the catalog (SQLite and PostgreSQL) ---------------------------------------------------


def test_kaltura_state_follows_the_entry_through_the_cli_into_the_catalog(
    loopback: Settings, fake: FakeKaltura, server: ApiServer, capsys, catalog: Catalog
) -> None:
    fake.entries = fake.entries[:4]
    fake.entries[1]["status"] = 1  # still converting: imported, unpublished, without streams
    fake.entries[3]["mediaType"] = 2  # an image: no asset, said in the notes
    fake.captions["0_e000"] = [caption("0_e000", 1, "en", "English")]
    assert run_cli(capsys, "services", "add", "acme").code == 0
    args = ["--url", server.base + "/", "--option", "partner_id=555", "--option", "incremental=false"]
    args += ["--credential", f"admin_secret={SECRET}", "--on-missing", "unpublish", "--max-removal-fraction", "1"]
    added = run_cli(capsys, "sources", "add", "--service", "acme", "--name", "k", "--kind", "kaltura", *args)
    assert added.code == 0, added.err
    source_id = catalog.list_sources()[0].id

    first, items = cli_import(capsys, source_id, secret=SECRET)
    assert first["counts"]["created"] == 3 and sorted(items) == ["0_e000", "0_e001", "0_e002"]
    assert "1 item skipped, not video entries (mediaType 2, image): 0_e003" in first["notes"]
    converting = catalog.get_asset(items["0_e001"]["asset_id"])
    assert converting["status"] == "unpublished" and converting["editions"][0]["streams"] == []
    assert "still being converted (status PRECONVERT)" in items["0_e001"]["reason"]
    captioned = catalog.get_asset(items["0_e000"]["asset_id"])
    assert captioned["status"] == "published"
    assert captioned["editions"][0]["subtitles"] == [
        {
            "url": f"{server.base}/api_v3/service/caption_captionasset/action/serve/captionAssetId/1_cap1",
            "language": "en",
            "label": "English",
        }
    ]

    deleted_id = items["0_e002"]["asset_id"]
    fake.entries[1].update(status=2, updatedAt=EPOCH + 9_000)  # converted since: Kaltura plays it now
    fake.entries[2].update(status=3, updatedAt=EPOCH + 9_000)  # deleted: Kaltura no longer lists it
    second, items = cli_import(capsys, source_id, secret=SECRET)
    assert second["counts"]["updated"] == 1 and second["counts"]["unpublished"] == 1
    ready = catalog.get_asset(items["0_e001"]["asset_id"])
    assert ready["status"] == "published"
    assert [s["type"] for s in ready["editions"][0]["streams"]] == ["hls", "mp4", "mp4"]
    assert catalog.get_asset(deleted_id)["status"] == "unpublished"  # the source's --on-missing rule
    assert catalog.count_assets(source_id) == 3
