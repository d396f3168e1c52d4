"""The CLI side of this API: `streams`, `services add-key | keys | revoke-key`."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from data_agent_pipelines.api import create_app
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.settings import Settings

from ..clirunner import run_cli
from .cdn import Refused, verify_akamai
from .conftest import put_asset
from .keys import AKAMAI_KEY


@pytest.fixture
def acme(settings: Settings, capsys) -> str:
    assert run_cli(capsys, "services", "add", "acme").code == 0
    return "acme"


def _source(capsys, name: str, *extra: str) -> str:
    added = run_cli(
        capsys,
        "sources",
        "add",
        "--service",
        "acme",
        "--name",
        name,
        "--kind",
        "mrss",
        "--url",
        f"https://feeds.example.com/{name}.xml",
        "--json",
        *extra,
    )
    assert added.code == 0, added.err
    return added.json()["id"]


def test_streams_prints_signed_urls_for_a_protected_source_and_plain_ones_otherwise(
    acme: str, capsys, catalog: Catalog
) -> None:
    protected = _source(capsys, "p", "--sign-streams", "akamai", "--credential", f"key={AKAMAI_KEY}")
    plain = _source(capsys, "o")
    put_asset(catalog, protected, "ast_p")
    put_asset(catalog, plain, "ast_o")
    before = int(time.time())  # the CLI runs on the real clock
    shown = run_cli(capsys, "streams", "ast_p", "--ttl", "60", "--json")
    after = int(time.time())
    assert shown.code == 0, shown.err
    url = shown.json()["editions"][0]["streams"][0]["url"]
    expires = int(verify_akamai(url, AKAMAI_KEY, now=before)["exp"])
    assert before + 60 <= expires <= after + 60 + 6  # rounded up to a step of ttl/10
    with pytest.raises(Refused, match="expired"):
        verify_akamai(url, AKAMAI_KEY, now=expires)
    human = run_cli(capsys, "streams", "ast_p")
    assert "signed (akamai)" in human.out and "hdnts=exp=" in human.out and AKAMAI_KEY not in human.out

    assert run_cli(capsys, "streams", "ast_o", "--json").json()["signed"] is False
    missing = run_cli(capsys, "streams", "ast_nope")
    assert missing.code == 2 and "no asset with id 'ast_nope'" in missing.err
    assert run_cli(capsys, "streams", "ast_p", "--ttl", "0").code == 2


def test_signing_settings_are_refused_by_the_cli_with_exit_2(acme: str, capsys) -> None:
    refused = run_cli(
        capsys,
        "sources",
        "add",
        "--service",
        "acme",
        "--name",
        "x",
        "--kind",
        "mrss",
        "--url",
        "https://feeds.example.com/x.xml",
        "--sign-streams",
        "cloudfront",
        "--credential",
        "key_pair_id=K1",
        "--credential",
        "private_key=not-a-pem-secret",
    )
    assert refused.code == 2 and "not a PEM private key" in refused.err
    assert "not-a-pem-secret" not in refused.err


def test_api_keys_are_printed_once_work_and_stop_working_when_revoked(
    acme: str, capsys, settings: Settings, catalog: Catalog
) -> None:
    made = run_cli(capsys, "services", "add-key", "acme", "--json")
    assert made.code == 0, made.err
    key, key_id = made.json()["key"], made.json()["id"]
    listed = run_cli(capsys, "services", "keys", "acme", "--json").json()
    assert [k["id"] for k in listed] == [key_id] and key not in str(listed)

    client = TestClient(create_app(settings, catalog=catalog), headers={"Authorization": f"Bearer {key}"})
    assert client.get("/services/acme/sources").status_code == 200
    revoked = run_cli(capsys, "services", "revoke-key", "acme", key_id, "--json")
    assert revoked.code == 0 and revoked.json()["revoked_at"] is not None
    assert client.get("/services/acme/sources").status_code == 401

    assert run_cli(capsys, "services", "revoke-key", "acme", "key_nope").code == 2
    assert run_cli(capsys, "services", "add-key", "nobody").code == 2
