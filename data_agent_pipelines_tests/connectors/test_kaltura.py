"""The Kaltura connector against a fake API v3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from data_agent_pipelines.connectors import kaltura
from data_agent_pipelines.connectors.kaltura import KalturaConnector
from data_agent_pipelines.errors import PlatformError, SourceAuthError
from data_agent_pipelines.model import Asset

from .apiserver import ApiServer, Reply
from .fake_kaltura import FakeKaltura, entry, exception
from .ovp import Sleeps, make_source, run

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


def source(server: ApiServer, credentials: dict[str, str] | None = None):
    return make_source(
        "kaltura", server.base + "/", options={"partner_id": "555"}, credentials=credentials or {"admin_secret": SECRET}
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
    assert alpha.custom == {"reference_id": "ref-1"}
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
    _fetched, items = run(connector(), source(server), tmp_path, Sleeps())
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
