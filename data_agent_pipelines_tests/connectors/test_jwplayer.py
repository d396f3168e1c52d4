"""The JW Player connector against a fake Management API and the shared Delivery API corpus."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from data_agent_pipelines.connectors import jwplayer
from data_agent_pipelines.connectors.jwplayer import JWPlayerConnector
from data_agent_pipelines.errors import SourceAuthError
from data_agent_pipelines.model import Asset
from data_agent_pipelines.net import HTTPStatusError

from ..conftest import corpus
from .apiserver import ApiServer, Reply
from .fake_jwplayer import FakeJWPlayer, media
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
    incremental = source(server, renditions="false")
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
    assert "sources" not in agent.custom and "variations" not in agent.custom
    channel = next(i for i in items if i.external_id == "LEBW145Q")
    assert channel.custom["catchupHours"] == "7" and channel.duration is None


def test_a_delivery_playlist_behind_url_signing_fails_pointing_at_the_url(tmp_path: Path) -> None:
    with ApiServer(lambda request: Reply({"message": "Unauthorized"}, 403)).running() as server:
        signed = make_source("jwplayer", server.base + "/v2/playlists/x", options={"api": "delivery"}, credentials={})
        with pytest.raises(SourceAuthError, match=r"Delivery API.*403.*--url"):
            run(connector(Sleeps()), signed, tmp_path, Sleeps())
