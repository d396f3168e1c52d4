"""The Brightcove connector against a fake OAuth API and CMS API."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.connectors.brightcove import BrightcoveConnector
from data_agent_pipelines.connectors.ovp.links import link_expiry
from data_agent_pipelines.errors import SourceAuthError
from data_agent_pipelines.model import Asset, Geoblock, ItemFailure
from data_agent_pipelines.settings import Settings

from ..clirunner import run_cli
from .apiserver import ApiServer, Reply
from .fake_brightcove import FakeBrightcove, fastly_token, sources_of, video
from .ovp import Sleeps, cli_import, make_source, run

CLIENT_ID, CLIENT_SECRET = "bc-client-7f3a", "bc-secret-Qw92x"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


class Clock:
    """Seconds that pass only when a request to the CMS API is answered (each takes `per_call`)."""

    def __init__(self, per_call: float = 0.0) -> None:
        self.now = 1000.0
        self.per_call = per_call

    def __call__(self) -> float:
        return self.now


def created(n: int) -> str:
    return (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeBrightcove:
    return FakeBrightcove(
        CLIENT_ID, CLIENT_SECRET, "1001", [video(f"{6000 + n}", created(n)) for n in range(230)], clock
    )


@pytest.fixture
def server(fake: FakeBrightcove, clock: Clock):
    def app(request):
        reply = fake(request)
        if request.path.startswith("/v1/"):
            clock.now += clock.per_call
        return reply

    with ApiServer(app).running() as running:
        yield running


def source(server: ApiServer, **options: str):
    return make_source(
        "brightcove",
        server.base + "/v1/",
        options={"account_id": "1001", "oauth_url": server.base + "/v4/access_token", **options},
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )


def connector(clock: Clock) -> BrightcoveConnector:
    return BrightcoveConnector(sleep=Sleeps(), now=lambda: NOW, clock=clock)


def test_videos_are_paged_by_offset_with_their_sources(
    fake: FakeBrightcove, server: ApiServer, clock: Clock, tmp_path: Path
) -> None:
    fake.videos[0].update(
        name="Alpha",
        description="Short.",
        long_description="Long text.",
        reference_id="ref-alpha",
        duration=5_432_600,
        tags=["news"],
        custom_fields={"genres": "News", "season_name": "Winter"},
        schedule={"starts_at": "2025-01-01T00:00:00.000Z", "ends_at": "2030-01-01T00:00:00.000Z"},
        images={"poster": {"src": "https://img.example/p.jpg"}, "thumbnail": {"src": "https://img.example/t.jpg"}},
        text_tracks=[{"src": "https://img.example/en.vtt", "srclang": "en", "label": "English", "kind": "captions"}],
        geo={"restricted": True, "exclude_countries": True, "countries": ["us", "ca"]},
    )
    fetched, items = run(connector(clock), source(server, concurrency="3"), tmp_path, Sleeps())
    assert fetched.complete and "230 items read in 3 pages" in fetched.notes and len(items) == 230
    pages = [(r.query["limit"], r.query["offset"]) for r in server.requests if r.path.endswith("1001/videos")]
    assert pages == [("100", "0"), ("100", "100"), ("100", "200")]
    assert sum(r.path.endswith("/sources") for r in server.requests) == 230
    alpha = items[0]
    assert isinstance(alpha, Asset) and alpha.external_id == "6000" and alpha.title == "Alpha"
    assert alpha.duration == 5433  # milliseconds, rounded to seconds
    assert alpha.description == "Long text." and alpha.short_description == "Short."
    assert alpha.availability.start == datetime(2025, 1, 1, tzinfo=UTC)
    assert alpha.availability.end == datetime(2030, 1, 1, tzinfo=UTC)
    assert alpha.custom == {"season_name": "Winter", "reference_id": "ref-alpha", "state": "ACTIVE"}
    assert alpha.genres == ["News"] and alpha.tags == ["news"]
    assert alpha.geoblock == Geoblock("deny", ["CA", "US"])
    assert [i.role for i in alpha.images] == ["poster", "thumbnail"]
    assert alpha.editions[0].subtitles[0].language == "en"
    streams = alpha.editions[0].streams
    assert [(s.type, s.url.split("://")[0]) for s in streams] == [("hls", "https"), ("mp4", "https")]
    assert streams[0].default and streams[1].bitrate == 1500 and streams[1].height == 720


def test_tokens_are_renewed_before_their_300_second_expiry(
    fake: FakeBrightcove, server: ApiServer, clock: Clock, tmp_path: Path
) -> None:
    fake.videos = fake.videos[:30]
    clock.per_call = 20.0  # 1 count + 1 page + 30 sources calls: 640 s in all, over two token lifetimes
    fetched, items = run(connector(clock), source(server, concurrency="1"), tmp_path, Sleeps())
    assert len(items) == 30 and fetched.complete
    assert fake.refused == 0 and len(fake.tokens) >= 3


def test_a_token_revoked_early_is_renewed_once(fake: FakeBrightcove, server: ApiServer, clock: Clock, tmp_path: Path):
    fake.videos = fake.videos[:3]
    fake.faults.add(Reply([{"error_code": "UNAUTHORIZED"}], 401), when=lambda r: r.path.endswith("/videos"))
    _fetched, items = run(connector(clock), source(server), tmp_path, Sleeps())
    assert len(items) == 3 and len(fake.tokens) == 2


def test_wrong_client_credentials_fail_naming_the_settings(server: ApiServer, clock: Clock, tmp_path: Path) -> None:
    bad = source(server)
    bad.credentials["client_secret"] = "not-the-secret"
    with pytest.raises(SourceAuthError) as caught:
        run(connector(clock), bad, tmp_path, Sleeps())
    message = str(caught.value)
    assert "Brightcove" in message and "client_secret" in message and "not-the-secret" not in message


def test_a_cms_api_that_keeps_refusing_fails_the_import(
    fake: FakeBrightcove, server: ApiServer, clock: Clock, tmp_path: Path
) -> None:
    for _ in range(2):
        fake.faults.add(Reply([{"error_code": "ACCESS_DENIED"}], 403), when=lambda r: r.path.endswith("counts/videos"))
    with pytest.raises(SourceAuthError, match="403"):
        run(connector(clock), source(server), tmp_path, Sleeps())


def test_incremental_fetch_searches_updated_at(fake: FakeBrightcove, server: ApiServer, clock: Clock, tmp_path: Path):
    fake.videos[7]["updated_at"] = "2026-11-01T11:59:00.000Z"
    changed = source(server)
    changed.sync_state = {"cursor": (NOW - timedelta(hours=1)).isoformat(), "full_sweep_at": NOW.isoformat()}
    fetched, items = run(connector(clock), changed, tmp_path, Sleeps())
    assert [i.external_id for i in items] == ["6007"] and not fetched.complete
    assert server.requests[-2].query["q"] == "updated_at:2026-11-01T10:50:00Z.."


# --- the platform's own state, DRM, signed links ----------------------------------------------------------------

EXPIRY = 1_793_534_400  # 2026-11-01T12:00:00Z + 1 year


def test_state_decides_publication_and_deleted_videos_are_skipped(
    fake: FakeBrightcove, server: ApiServer, clock: Clock, tmp_path: Path
) -> None:
    fake.videos = fake.videos[:5]
    fake.videos[1]["state"] = "INACTIVE"
    fake.videos[2]["state"] = "PENDING"
    fake.videos[3]["state"] = "DELETED"
    fake.videos[4]["state"] = "ARCHIVED"  # no state Brightcove documents
    fetched, items = run(connector(clock), source(server), tmp_path, Sleeps())
    found = {i.external_id: i for i in items}
    assert sorted(found) == ["6000", "6001", "6002", "6004"]
    assert found["6000"].unpublished is None
    assert "deactivated in Brightcove (state INACTIVE)" in str(found["6001"].unpublished)
    assert "still being created in Brightcove (state PENDING)" in str(found["6002"].unpublished)
    assert "'ARCHIVED' is not one Brightcove documents" in str(found["6004"].unpublished)
    sources_calls = [r.path for r in server.requests if r.path.endswith("/sources")]
    assert not any("/6003/" in path for path in sources_calls)  # nothing to play: not asked for
    parse = BrightcoveConnector(now=lambda: NOW, clock=clock).parse(source(server), fetched)
    assert len(list(parse)) == 4
    assert parse.notes == ["1 item skipped, deleted in Brightcove (state DELETED): 6003"]


def test_drm_key_systems_take_the_asset_models_names_with_their_license_urls(
    fake: FakeBrightcove, server: ApiServer, clock: Clock, tmp_path: Path
) -> None:
    fake.videos = fake.videos[:2]
    fake.videos[0]["playback_rights_id"] = "b5a3a4b4-4b8a-4fd5-a0a6-1c0b9b3c2d11"
    fake.drm = {"6000"}
    _fetched, items = run(connector(clock), source(server), tmp_path, Sleeps())
    drm = {(s.type, s.drm): s.drm_data for s in items[0].editions[0].streams if s.drm}
    license_base = "https://bcbolt.example/license/v1/6000"
    assert drm == {
        ("dash", "widevine"): {"license_url": f"{license_base}/widevine"},
        ("dash", "playready"): {"license_url": f"{license_base}/playready"},
        ("hls", "fairplay"): {
            "key_request_url": f"{license_base}/fairplay",
            "certificate_url": f"{license_base}/fairplay_cert",
        },
    }
    assert items[0].custom["playback_rights_id"] == "b5a3a4b4-4b8a-4fd5-a0a6-1c0b9b3c2d11"
    assert all(s.drm is None for s in items[1].editions[0].streams) and "playback_rights_id" not in items[1].custom


def test_an_unknown_key_system_is_kept_as_named_and_noted(
    fake: FakeBrightcove, server: ApiServer, clock: Clock, tmp_path: Path
) -> None:
    fake.videos = fake.videos[:1]
    fake.sources["6000"] = [
        {"type": "application/dash+xml", "src": "https://c.example/m.mpd", "key_systems": {"org.w3.clearkey": {}}}
    ]
    _fetched, (item,) = run(connector(clock), source(server), tmp_path, Sleeps())
    assert [(s.drm, s.drm_data) for s in item.editions[0].streams] == [("org.w3.clearkey", None)]
    assert "'org.w3.clearkey' is not one the asset model names" in item.notes[0]


def test_signed_source_links_carry_the_expiry_of_their_token(
    fake: FakeBrightcove, server: ApiServer, clock: Clock, tmp_path: Path
) -> None:
    fake.videos = fake.videos[:1]
    fake.token_expiry = EXPIRY
    _fetched, (item,) = run(connector(clock), source(server), tmp_path, Sleeps())
    streams = item.editions[0].streams
    assert [s.type for s in streams] == ["hls", "mp4"] and all("fastly_token=" in s.url for s in streams)
    assert {s.expires for s in streams} == {datetime.fromtimestamp(EXPIRY, UTC)}


JWT_HEAD = "eyJhbGciOiJIUzI1NiJ9"


def jwt_claims(claims: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"fastly_token={fastly_token(EXPIRY, 'ab12')}", EXPIRY),  # Brightcove's own, as its manifests carry it
        (f"hdnea=st=1793530000~exp={EXPIRY}~acl=/*~hmac=9f2c", EXPIRY),  # Akamai
        (f"Expires={EXPIRY}&Signature=Zm9v&Key-Pair-Id=K2ABC", EXPIRY),  # CloudFront
        (f"exp={EXPIRY}&sig=0f3c9a", EXPIRY),  # JW Player's non-JWT signing
        (f"token={JWT_HEAD}.{jwt_claims({'exp': EXPIRY})}.c2ln", EXPIRY),  # a JWT (JW Player, Mux): its exp claim
        (f"token={JWT_HEAD}.{jwt_claims({'exp': 'soon'})}.c2ln", "read"),  # a JWT whose exp is no number
        (f"token={JWT_HEAD}.{jwt_claims([1, 2])}.c2ln", "read"),  # claims that are no object
        ("token=opaque-4f1c9a", "read"),  # signed, expiry unreadable: as long as it was read
        ("fastly_token=bm90LWhleA%3D%3D", "read"),  # a Fastly token that is not <hex>_<hmac>
        ("pubId=15364602001&videoId=5556100515001", None),  # a query, but no signature: permanent
        ("", None),
    ],
)
def test_link_expiry_reads_the_token_formats_brightcove_urls_carry(query: str, expected: object) -> None:
    url = "https://bcbolt.example/v/master.m3u8" + (f"?{query}" if query else "")
    found = link_expiry(url, NOW)
    if expected == "read":
        assert found == NOW
    else:
        assert found == (datetime.fromtimestamp(expected, UTC) if isinstance(expected, int) else None)


def test_instants_are_read_as_iso_text_or_epoch_milliseconds(
    fake: FakeBrightcove, server: ApiServer, clock: Clock, tmp_path: Path
) -> None:
    fake.videos = fake.videos[:2]
    fake.videos[1]["published_at"] = 1_704_067_200_000  # the video fields reference: milliseconds from epoch
    fake.videos[1]["schedule"] = {"starts_at": 1_704_067_200_000, "ends_at": None}
    _fetched, items = run(connector(clock), source(server), tmp_path, Sleeps())
    assert items[0].published_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert items[1].published_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert items[1].availability.start == datetime(2024, 1, 1, tzinfo=UTC)


def test_hostile_videos_and_sources_fail_alone(
    fake: FakeBrightcove, server: ApiServer, clock: Clock, tmp_path: Path
) -> None:
    fake.videos = fake.videos[:7]
    fake.videos[1]["id"] = None  # no id: stored as it came, failed, and no sources call for it
    fake.sources["6002"] = {"error_code": "NOT_A_LIST"}  # sources that are no list
    drm_list = ["com.widevine.alpha"]  # key systems as a list, not an object
    fake.sources["6003"] = [{"src": "https://c.example/m.mpd", "type": "application/dash+xml", "key_systems": drm_list}]
    fake.videos[4]["text_tracks"] = "captions.vtt"
    fake.videos[5]["published_at"] = {"when": "soon"}
    fake.sources["6006"] = sources_of("6006") * 2_000  # huge: bounded by the model's limits at import
    fetched, items = run(connector(clock), source(server), tmp_path, Sleeps())
    assert fetched.complete and len(items) == 7
    failures = {i.external_id: " ".join(i.errors) for i in items if isinstance(i, ItemFailure)}
    assert set(failures) == {None, "6002", "6003", "6004", "6005"}
    assert "sources are a dict, not a list" in failures["6002"]
    assert "key_systems is a list" in failures["6003"]
    assert "text_tracks is a str" in failures["6004"]
    assert "is not an instant" in failures["6005"]
    good = {i.external_id: i for i in items if isinstance(i, Asset)}
    assert sorted(good) == ["6000", "6006"] and len(good["6006"].editions[0].streams) > 100


# --- through the CLI into the catalog (SQLite and PostgreSQL) ---------------------------------------------------


def test_fresh_tokens_renew_links_without_an_update_and_state_follows_brightcove(
    loopback: Settings, fake: FakeBrightcove, server: ApiServer, capsys, catalog: Catalog
) -> None:
    fake.videos = fake.videos[:3]
    fake.token_expiry = EXPIRY
    assert run_cli(capsys, "services", "add", "acme").code == 0
    args = ["--url", server.base + "/v1/", "--option", "account_id=1001", "--option", "incremental=false"]
    args += ["--option", f"oauth_url={server.base}/v4/access_token"]
    args += ["--credential", f"client_id={CLIENT_ID}", "--credential", f"client_secret={CLIENT_SECRET}"]
    args += ["--on-missing", "unpublish", "--max-removal-fraction", "1"]
    added = run_cli(capsys, "sources", "add", "--service", "acme", "--name", "bc", "--kind", "brightcove", *args)
    assert added.code == 0, added.err
    source_id = catalog.list_sources()[0].id
    first, items = cli_import(capsys, source_id)
    assert first["counts"]["created"] == 3
    fake.token_expiry = EXPIRY + 3600  # every link signed anew, an hour later
    second, items = cli_import(capsys, source_id)
    assert second["counts"] == {**second["counts"], "updated": 0, "unchanged": 3}
    assert items["6000"]["reason"] == "renewed 2 expiring links (the origin signs them with an expiry)"
    stored = catalog.get_asset(items["6000"]["asset_id"])["editions"][0]["streams"]
    assert {s["expires"] for s in stored} == {datetime.fromtimestamp(EXPIRY + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    fake.videos[1]["state"] = "INACTIVE"
    fake.videos[2]["state"] = "DELETED"
    third, items = cli_import(capsys, source_id)
    assert catalog.get_asset(items["6001"]["asset_id"])["status"] == "unpublished"
    assert "state INACTIVE" in items["6001"]["reason"]
    assert third["counts"]["unpublished"] == 1  # the deleted video: gone, so the source's on_missing applies
    assert "1 item skipped, deleted in Brightcove (state DELETED): 6002" in third["notes"]
