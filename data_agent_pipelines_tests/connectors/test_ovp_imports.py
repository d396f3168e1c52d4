"""OVP sources end to end through the CLI: fake platforms on loopback, the real catalog (SQLite and PostgreSQL),
a real Dagster instance. Sources are added as a user would, credentials and all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from data_agent_pipelines.catalog.engine import make_engine
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.connectors import jwplayer
from data_agent_pipelines.connectors.registry import source_kinds
from data_agent_pipelines.settings import Settings, get_settings

from ..clirunner import run_cli
from .apiserver import ApiServer, Reply
from .fake_brightcove import FakeBrightcove, video
from .fake_jwplayer import FakeJWPlayer, media
from .fake_kaltura import FakeKaltura, entry
from .fake_mux import FakeMux, mux_asset
from .fake_vimeo import FakeVimeo, vimeo_video

JW_SECRET = "jw-secret-e2e-7Hq2Lm"
BC_SECRET = "bc-secret-e2e-3Fv8Kx"
KALTURA_SECRET = "kaltura-secret-e2e-9Pw4"
VIMEO_TOKEN = "vimeo-token-e2e-5Rt1"
MUX_SECRET = "mux-secret-e2e-8Zq6+Tn"
SECRETS = (JW_SECRET, BC_SECRET, KALTURA_SECRET, VIMEO_TOKEN, MUX_SECRET)
# The items each platform's fake has besides the `extra` ones a test adds.
EXPECTED = {"jwplayer": 12, "brightcove": 3, "kaltura": 4, "vimeo": 5, "mux": 6}


def add(capsys, kind: str, *args: str) -> str:
    if run_cli(capsys, "services", "list", "--json").json() == []:
        assert run_cli(capsys, "services", "add", "acme").code == 0
    added = run_cli(capsys, "sources", "add", "--service", "acme", "--name", kind, "--kind", kind, *args, "--json")
    assert added.code == 0, added.err
    assert all(secret not in added.out for secret in SECRETS)
    return added.json()["id"]


def import_json(capsys, source_id: str) -> tuple[int, dict[str, Any], str]:
    done = run_cli(capsys, "import", source_id, "--json")
    return done.code, done.json(), done.out + done.err


def jw_fake(count: int = 12, extra: list[dict[str, Any]] | None = None) -> FakeJWPlayer:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    items = [media(f"m{n:02}", (start + timedelta(hours=n)).isoformat()) for n in range(count)]
    return FakeJWPlayer(JW_SECRET, "SiTe1234", items + (extra or []))


def jw_args(base: str, *extra: str) -> list[str]:
    return [
        "--url",
        base + "/v2/",
        "--option",
        "site_id=SiTe1234",
        "--credential",
        f"api_secret={JW_SECRET}",
        *extra,
    ]


def platform_fakes(clock: list[float], **extra: list[dict[str, Any]]) -> dict[str, Any]:
    """A fake of every platform with a few items each, plus the `extra` items of a platform (by kind)."""
    return {
        "jwplayer": jw_fake(extra=extra.get("jwplayer", [])),
        "brightcove": FakeBrightcove(
            "bc-client",
            BC_SECRET,
            "1001",
            [video(f"60{n}", f"2024-01-0{n + 1}T00:00:00.000Z") for n in range(3)] + extra.get("brightcove", []),
            lambda: clock[0],
        ),
        "kaltura": FakeKaltura(
            "555", KALTURA_SECRET, [entry(f"0_k{n}", 1_700_000_000 + n) for n in range(4)] + extra.get("kaltura", [])
        ),
        "vimeo": FakeVimeo(
            VIMEO_TOKEN,
            "me",
            [vimeo_video(n, play={"hls": {"link": f"https://p.example/{n}.m3u8"}}) for n in range(5)]
            + extra.get("vimeo", []),
        ),
        "mux": FakeMux(
            "mux-token-id", MUX_SECRET, [mux_asset(n, 1_700_000_000 + n) for n in range(6)] + extra.get("mux", [])
        ),
    }


def platform_args(kind: str, base: str) -> list[str]:
    """`sources add` arguments for the fake platform of `kind` at `base`."""
    return {
        "jwplayer": jw_args(base),
        "brightcove": [
            "--url",
            base + "/v1/",
            "--option",
            "account_id=1001",
            "--option",
            f"oauth_url={base}/v4/access_token",
            "--credential",
            "client_id=bc-client",
            "--credential",
            f"client_secret={BC_SECRET}",
        ],
        "kaltura": [
            "--url",
            base + "/",
            "--option",
            "partner_id=555",
            "--credential",
            f"admin_secret={KALTURA_SECRET}",
        ],
        "vimeo": ["--url", base + "/", "--credential", f"access_token={VIMEO_TOKEN}"],
        "mux": [
            "--url",
            base + "/",
            "--credential",
            "token_id=mux-token-id",
            "--credential",
            f"token_secret={MUX_SECRET}",
        ],
    }[kind]


@contextmanager
def platforms(capsys, fakes: dict[str, Any]) -> Iterator[dict[str, str]]:
    """Every fake platform running, with a source added for each: source ids by kind."""
    servers = {kind: ApiServer(fake) for kind, fake in fakes.items()}
    with ExitStack() as stack:
        for server in servers.values():
            stack.enter_context(server.running())
        yield {kind: add(capsys, kind, *platform_args(kind, server.base)) for kind, server in servers.items()}


def test_every_platform_imports_through_the_cli(loopback: Settings, capsys, catalog: Catalog) -> None:
    with platforms(capsys, platform_fakes([1000.0])) as ids:
        platform_kinds = [kind for kind, spec in source_kinds().items() if spec.default_url is not None]
        assert sorted(ids) == sorted(platform_kinds)  # a new platform connector joins these tests
        for kind, source_id in ids.items():
            code, result, output = import_json(capsys, source_id)
            assert code == 0 and result["status"] == "succeeded", (kind, result)
            assert result["counts"]["created"] == EXPECTED[kind]
            assert all(secret not in output for secret in SECRETS)
            asset = catalog.get_asset(result["items"][0]["asset_id"])
            assert asset["source_id"] == source_id and asset["title"] and asset["editions"][0]["streams"]
    for kind in ("jwplayer", "vimeo"):  # both read only the changes between full sweeps
        state = catalog.get_source(ids[kind]).sync_state
        assert state["cursor"] and state["full_sweep_at"], kind


def test_a_hostile_value_from_a_platform_fails_no_other_item(loopback: Settings, capsys, catalog: Catalog) -> None:
    long_title = "T" * 50_000
    hostile = {
        # JSON's Infinity (Python's json reads it) and a duration beyond 32 bits
        "jwplayer": [
            media("inf", "2024-02-01T00:00:00+00:00", duration=float("inf")),
            media("big", "2024-02-02T00:00:00+00:00", duration=3e9, title=long_title),
        ],
        "brightcove": [video("700", "2024-02-01T00:00:00.000Z", duration=10**30, name=long_title)],
        "kaltura": [entry("0_big", 1_700_000_100, duration=3_000_000_000, name=long_title)],
        "vimeo": [vimeo_video(99, duration=10**25, name=long_title, play={"hls": {"link": "https://p.example/h"}})],
        "mux": [mux_asset(99, 1_700_000_100, duration=1e25, meta={"title": long_title})],
    }
    with platforms(capsys, platform_fakes([1000.0], **hostile)) as ids:
        for kind, source_id in ids.items():
            code, result, _ = import_json(capsys, source_id)
            assert code == 0 and result["status"] in ("succeeded", "partial"), (kind, result["error"])
            items = {entry["external_id"]: entry for entry in result["items"]}
            good = [e for e in items.values() if e["outcome"] == "created" and not e["reason"]]
            assert len(good) == EXPECTED[kind], (kind, result)
            hostile_items = [e for e in items.values() if e["reason"]]
            assert hostile_items, (kind, result)
            for entry_ in hostile_items:
                if entry_["outcome"] == "failed":  # only JW Player's infinite duration cannot be read at all
                    assert kind == "jwplayer" and "OverflowError" in " ".join(entry_["errors"]), entry_
                    continue
                assert "duration" in entry_["reason"] and "dropped" in entry_["reason"], entry_
                assert "title is 50,000 characters long" in entry_["reason"], entry_
                asset = catalog.get_asset(entry_["asset_id"])
                assert asset["duration"] is None and len(asset["title"]) == 1_000


def test_an_incomplete_fetch_never_removes_assets(
    loopback: Settings, capsys, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jwplayer, "PAGE_LENGTH", 5)
    fake = jw_fake()
    with ApiServer(fake).running() as server:
        source_id = add(
            capsys,
            "jwplayer",
            *jw_args(
                server.base,
                "--on-missing",
                "delete",
                "--max-removal-fraction",
                "1",
                "--option",
                "renditions=false",
                "--option",
                "incremental=false",
            ),
        )
        assert import_json(capsys, source_id)[1]["counts"]["created"] == 12
        fake.ignore_page = True  # a platform that answers page 1 to every page: paging stops, incomplete
        _code, result, _ = import_json(capsys, source_id)
    assert result["counts"]["deleted"] == 0 and result["counts"]["unpublished"] == 0
    assert "same page" in " ".join(result["notes"])
    assert catalog.count_assets(source_id) == 12


def test_the_sync_state_advances_only_after_a_good_import(loopback: Settings, capsys, catalog: Catalog) -> None:
    fake = jw_fake()
    with ApiServer(fake).running() as server:
        per_item = ("--option", "renditions=false", "--option", "text_tracks=false")  # the list is the last call
        source_id = add(capsys, "jwplayer", *jw_args(server.base, *per_item))
        import_json(capsys, source_id)
        first = catalog.get_source(source_id).sync_state
        fake.items[3]["last_modified"] = datetime.now(UTC).isoformat()
        fake.items[3]["metadata"]["title"] = "Changed"
        code, result, _ = import_json(capsys, source_id)
        assert code == 0 and result["counts"]["updated"] == 1 and result["counts"]["deleted"] == 0
        assert "last_modified:[" in server.requests[-1].query["q"]
        second = catalog.get_source(source_id).sync_state
        assert second["cursor"] > first["cursor"] and second["full_sweep_at"] == first["full_sweep_at"]
        fake.faults.add(Reply({"errors": [{"code": "invalid_query"}]}, 400))
        code, result, _ = import_json(capsys, source_id)
        assert code == 1 and result["status"] == "failed" and "400" in result["error"]
        assert catalog.get_source(source_id).sync_state == second


def test_sources_add_names_the_missing_platform_settings(loopback: Settings, capsys) -> None:
    assert run_cli(capsys, "services", "add", "acme").code == 0
    refused = run_cli(capsys, "sources", "add", "--service", "acme", "--name", "jw", "--kind", "jwplayer")
    assert refused.code == 2
    assert "--option site_id" in refused.err and "--credential api_secret" in refused.err
    refused = run_cli(
        capsys, "sources", "add", "--service", "acme", "--name", "k", "--kind", "kaltura", "--option", "partner_id=1"
    )
    assert refused.code == 2 and "admin_secret" in refused.err and "ks" in refused.err
    added = run_cli(
        capsys,
        "sources",
        "add",
        "--service",
        "acme",
        "--name",
        "v",
        "--kind",
        "vimeo",
        "--credential",
        "access_token=abcd1234",
        "--json",
    )
    assert added.code == 0 and added.json()["url"] == "https://api.vimeo.com/"
    delivery = run_cli(
        capsys, "sources", "add", "--service", "acme", "--name", "d", "--kind", "jwplayer", "--option", "api=delivery"
    )
    assert delivery.code == 2 and "--url" in delivery.err


class _Capture:
    """A Bugsnag endpoint on loopback that keeps every payload."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, request) -> Reply:
        self.bodies.append(request.body)
        return Reply({})


def test_credentials_appear_in_no_output_result_log_metadata_or_bugsnag_payload(
    loopback: Settings, capsys, monkeypatch: pytest.MonkeyPatch, catalog: Catalog
) -> None:
    capture = _Capture()
    fake = jw_fake(3)
    fake.items[1]["duration"] = "n/a"  # a failed item: its error is reported to Bugsnag with the item as sample
    with ApiServer(capture).running() as bugsnag, ApiServer(fake).running() as server:
        monkeypatch.setenv("BUGSNAG_API_KEY", "0123456789abcdef0123456789abcdef")
        monkeypatch.setenv("BUGSNAG_NOTIFY_ENDPOINT", bugsnag.base + "/notify")
        monkeypatch.setenv("BUGSNAG_SESSIONS_ENDPOINT", bugsnag.base + "/sessions")
        get_settings.cache_clear()
        source_id = add(capsys, "jwplayer", *jw_args(server.base))
        outputs = [import_json(capsys, source_id)[2]]
        fake.secret = "rotated-on-the-platform"  # the stored secret is now refused: the import fails
        code, result, output = import_json(capsys, source_id)
        assert code == 1 and "api_secret" in result["error"] and "JW Player" in result["error"]
        outputs.append(output)
        for command in (
            ["results", "list", "--source", source_id],
            ["results", "show", result["id"]],
            ["sources", "show", source_id],
            ["assets", "list", "--service", "acme"],
        ):
            shown = run_cli(capsys, *command, "--json")
            outputs.append(shown.out + shown.err)
    stored = _catalog_text(loopback)
    dagster = "\n".join(_read(p) for p in loopback.dagster_home.rglob("*") if p.is_file())
    payloads = b"\n".join(capture.bodies).decode(errors="replace")
    assert "could not convert" in payloads, "the failed item was reported to Bugsnag"
    for place, content in (
        ("output", "\n".join(outputs)),
        ("catalog", stored),
        ("dagster", dagster),
        ("bugsnag", payloads),
    ):
        assert JW_SECRET not in content, f"the secret leaked into {place}"
    # The origin saw the secret only where it belongs: the Authorization header, never the URL.
    assert all(JW_SECRET not in r.path and JW_SECRET not in json.dumps(r.query) for r in server.requests)


def _read(path: Path) -> str:
    return path.read_bytes().decode("latin-1")


def _catalog_text(settings: Settings) -> str:
    """Every row of every catalog table as text."""
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            tables = list(engine.dialect.get_table_names(conn))
            rows = [str(conn.execute(text(f'SELECT * FROM "{table}"')).fetchall()) for table in tables]
    finally:
        engine.dispose()
    return "\n".join(rows)
