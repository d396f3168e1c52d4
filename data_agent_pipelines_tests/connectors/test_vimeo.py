"""The Vimeo connector against a fake Vimeo API."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from data_agent_pipelines.connectors.vimeo import FIELDS, VimeoConnector
from data_agent_pipelines.errors import SourceAuthError
from data_agent_pipelines.model import Asset

from .apiserver import ApiServer, Reply
from .fake_vimeo import FakeVimeo, vimeo_video
from .ovp import Sleeps, make_source, run

TOKEN = "vimeo-token-8c1d0e"


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
