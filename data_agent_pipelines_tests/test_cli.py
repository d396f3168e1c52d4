"""The `data-agent` command: the contract's JSON shapes, human output, and every error path (exit 2, one line)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.model import Asset, AssetWrite, encode_asset
from data_agent_pipelines.settings import Settings

from .clirunner import run_cli

SECRET = "5ec7e7a1ab9c0ffee4ab9d"  # hex: an Akamai EdgeAuth key is one


@pytest.fixture
def service(settings: Settings, capsys) -> str:
    assert run_cli(capsys, "services", "add", "acme").code == 0
    return "acme"


def add_source(capsys, *extra: str) -> dict:
    result = run_cli(
        capsys,
        "sources",
        "add",
        "--service",
        "acme",
        "--name",
        "Main",
        "--kind",
        "mrss",
        "--url",
        "https://feeds.example.com/main.xml",
        "--json",
        *extra,
    )
    assert result.code == 0, result.err
    return result.json()


def test_services_add_and_list(service: str, capsys) -> None:
    listed = run_cli(capsys, "services", "list", "--json")
    assert listed.code == 0
    assert [(s["name"], s["sources"], s["assets"]) for s in listed.json()] == [("acme", 0, 0)]
    human = run_cli(capsys, "services", "list")
    assert "acme" in human.out and "sources" in human.out


def test_group_level_json_flag(service: str, capsys) -> None:
    assert run_cli(capsys, "--json", "services", "list").json()[0]["name"] == "acme"


def test_sources_add_prints_the_source_with_credentials_redacted(service: str, capsys) -> None:
    source = add_source(
        capsys,
        "--every",
        "15m",
        "--truth",
        "update-unless-edited",
        "--on-missing",
        "unpublish",
        "--max-removal-fraction",
        "0.1",
        "--asset-type",
        "clip",
        "--sign-streams",
        "akamai",
        "--credential",
        f"key={SECRET}",
        "--option",
        "token_name=hdnts",
    )
    assert source["id"].startswith("src_")
    assert source["every"] == "15m" and source["cron"] is None
    assert (source["truth"], source["on_missing"], source["max_removal_fraction"]) == (
        "update-unless-edited",
        "unpublish",
        0.1,
    )
    assert (source["asset_type"], source["sign_streams"]) == ("clip", "akamai")
    assert source["credentials"] == {"key": "<redacted>"}
    assert source["options"] == {"token_name": "hdnts"}
    assert source["enabled"] is True and source["next_run_at"]
    for args in (("sources", "show", source["id"]), ("sources", "list")):
        for fmt in ((), ("--json",)):
            shown = run_cli(capsys, *args, *fmt)
            assert shown.code == 0 and SECRET not in shown.out + shown.err


def test_sources_edit_enable_disable_delete(service: str, capsys) -> None:
    source = add_source(capsys)
    edited = run_cli(capsys, "sources", "edit", source["id"], "--cron", "*/30 * * * *", "--name", "Renamed", "--json")
    assert edited.code == 0, edited.err
    assert (edited.json()["cron"], edited.json()["every"], edited.json()["name"]) == ("*/30 * * * *", None, "Renamed")
    assert run_cli(capsys, "sources", "disable", source["id"], "--json").json()["enabled"] is False
    assert run_cli(capsys, "sources", "enable", source["id"], "--json").json()["enabled"] is True
    deleted = run_cli(capsys, "sources", "delete", source["id"], "--json")
    assert deleted.json() == {"id": source["id"], "deleted": True}
    assert run_cli(capsys, "sources", "list", "--json").json() == []


BAD_SOURCE_ARGS = [
    (["--kind", "rss"], "unknown kind 'rss'"),
    (["--url", "ftp://feeds.example.com/x"], "only http:// and https://"),
    (["--url", "not a url"], "only http:// and https://"),
    (["--every", "0m"], "longer than zero"),
    (["--every", "soon"], "invalid duration"),
    (["--cron", "every day"], "invalid cron expression"),
    (["--cron", "0 25 * * *"], "invalid cron expression"),
    (["--every", "1h", "--cron", "0 * * * *"], "either --every or --cron"),
    (["--truth", "origin"], "unknown source-of-truth policy"),
    (["--on-missing", "purge"], "unknown --on-missing rule"),
    (["--max-removal-fraction", "1.5"], "from 0 to 1"),
    (["--asset-type", "webinar"], "unknown asset type"),
    (["--sign-streams", "md5"], "unknown signing scheme"),
    (["--credential", "novalue"], "--credential expects KEY=VALUE"),
    (["--option", "=x"], "--option expects KEY=VALUE"),
    (["--option", "timeout=-1"], "timeout"),
]


@pytest.mark.parametrize(("extra", "message"), BAD_SOURCE_ARGS)
def test_bad_source_settings_exit_2_with_one_line_and_write_nothing(
    service: str, capsys, extra: list[str], message: str
) -> None:
    base = {"--service": "acme", "--name": "Main", "--kind": "mrss", "--url": "https://feeds.example.com/x.xml"}
    overridden = dict(base)
    rest: list[str] = []
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        if flag in overridden:
            overridden[flag] = value
        else:
            rest += [flag, value]
    args = [part for pair in overridden.items() for part in pair] + rest
    result = run_cli(capsys, "sources", "add", *args)
    assert result.code == 2
    assert message in result.err
    assert result.err.count("\n") == 1 and result.out == ""
    assert run_cli(capsys, "sources", "list", "--json").json() == []


def test_bad_edit_changes_nothing(service: str, capsys) -> None:
    source = add_source(capsys)
    result = run_cli(capsys, "sources", "edit", source["id"], "--every", "1h", "--cron", "bad", "--name", "New")
    assert result.code == 2
    assert run_cli(capsys, "sources", "show", source["id"], "--json").json() == source


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sources", "show", "src_missing"], "no source with id 'src_missing'"),
        (["sources", "edit", "src_missing", "--name", "x"], "no source with id"),
        (["sources", "delete", "src_missing"], "no source with id"),
        (["sources", "enable", "src_missing"], "no source with id"),
        (["sources", "list", "--service", "nobody"], "no service named 'nobody'"),
        (
            ["sources", "add", "--service", "nobody", "--name", "a", "--kind", "mrss", "--url", "https://x.example"],
            "no service named 'nobody'",
        ),
        (["assets", "show", "ast_missing"], "no asset with id"),
        (["assets", "list", "--service", "nobody"], "no service named"),
        (["results", "show", "res_missing"], "no import result with id"),
        (["services", "add", "Bad Name!"], "invalid service name"),
        (["services", "add", "acme"], "already exists"),
        (["import", "src_missing"], "no source with id"),
        (["sources", "frobnicate"], "No such command"),
        (["results", "list", "--limit", "0"], "--limit"),
        (["results", "list", "--source", "src_missing"], "no source with id 'src_missing'"),
    ],
)
def test_unknown_ids_and_bad_usage_exit_2(service: str, capsys, args: list[str], message: str) -> None:
    result = run_cli(capsys, *args)
    assert result.code == 2, result
    assert message in result.err
    assert result.err.count("\n") == 1


@pytest.fixture
def asset_id(service: str, capsys, catalog: Catalog) -> str:
    source = catalog.get_source(add_source(capsys)["id"])
    encoded = encode_asset(Asset("e1", title="Origin title", tags=["a"]))
    catalog.write_assets(
        source, [AssetWrite("ast_1", "e1", encoded.columns, encoded.content_hash)], imported_at=catalog.clock()
    )
    return "ast_1"


def test_assets_list_show_and_cms_edit(asset_id: str, capsys) -> None:
    listed = run_cli(capsys, "assets", "list", "--service", "acme", "--json").json()
    assert [a["id"] for a in listed] == [asset_id]
    shown = run_cli(capsys, "assets", "show", asset_id, "--json").json()
    assert shown["title"] == "Origin title" and shown["edited_fields"] == []
    edited = run_cli(
        capsys,
        "assets",
        "edit",
        asset_id,
        "--set",
        "title=CMS title",
        "--set",
        "tags=x, y",
        "--set",
        "duration=90",
        "--set",
        'geoblock={"allow": ["US"]}',
        "--json",
    )
    assert edited.code == 0, edited.err
    body = edited.json()
    assert (body["title"], body["tags"], body["duration"], body["geoblock"]) == (
        "CMS title",
        ["x", "y"],
        90,
        {"allow": ["US"]},
    )
    assert body["edited_fields"] == ["duration", "geoblock", "tags", "title"]
    assert "CMS title" in run_cli(capsys, "assets", "show", asset_id).out


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["--set", "colour=red"], "unknown asset field 'colour'"),
        (["--set", "title"], "--set expects KEY=VALUE"),
        (["--set", "duration=ninety"], "expects JSON"),
        (["--set", "release_date=yesterday"], "invalid value for asset field 'release_date'"),
    ],
)
def test_bad_asset_edits_exit_2_and_change_nothing(asset_id: str, capsys, values: list[str], message: str) -> None:
    before = run_cli(capsys, "assets", "show", asset_id, "--json").json()
    result = run_cli(capsys, "assets", "edit", asset_id, *values)
    assert result.code == 2 and message in result.err
    assert run_cli(capsys, "assets", "show", asset_id, "--json").json() == before


def test_the_database_file_never_holds_a_credential(sqlite_settings: Settings, capsys) -> None:
    assert run_cli(capsys, "services", "add", "acme").code == 0
    add_source(capsys, "--credential", f"api_secret={SECRET}")
    path = Path(sqlite_settings.database_url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(FULL)")
    assert SECRET.encode() not in path.read_bytes()


def test_console_script_is_installed_and_answers(settings: Settings) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "data_agent_pipelines.cli", "services", "list", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("args", [[], ["sources"], ["results"]])
def test_a_command_without_its_subcommand_prints_the_help(sqlite_settings: Settings, capsys, args: list[str]) -> None:
    done = run_cli(capsys, *args)
    assert done.code == 0 and done.err == ""
    assert done.out.startswith(f"Usage: data-agent {' '.join(args)}".rstrip() + " [OPTIONS] COMMAND [ARGS]...")
    assert done.out == run_cli(capsys, *args, "--help").out
