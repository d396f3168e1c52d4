"""The Brightcove connector against a fake OAuth API and CMS API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from data_agent_pipelines.connectors.brightcove import BrightcoveConnector
from data_agent_pipelines.errors import SourceAuthError
from data_agent_pipelines.model import Asset, Geoblock

from .apiserver import ApiServer, Reply
from .fake_brightcove import FakeBrightcove, video
from .ovp import Sleeps, make_source, run

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
