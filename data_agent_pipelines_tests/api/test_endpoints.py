"""Every endpoint through FastAPI's TestClient, on a real catalog (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.model import ImportResult, ImportStatus, ItemOutcome, parse_instant
from data_agent_pipelines.orchestration.instance import open_instance
from data_agent_pipelines.settings import Settings

from .cdn import verify_akamai, verify_cloudfront
from .conftest import Tenant, new_source, put_asset
from .keys import AKAMAI_KEY, KEY_PAIR_ID, rsa_key, rsa_pem

SECRET_PEM_MARKER = "PRIVATE KEY"


def test_health_needs_no_key(app_client: TestClient) -> None:
    assert app_client.get("/health").json() == {"status": "ok"}


def test_no_key_or_a_bad_or_revoked_key_is_401(app_client: TestClient, acme: Tenant, catalog: Catalog) -> None:
    missing = app_client.get("/services/acme/sources")
    assert missing.status_code == 401 and missing.json()["error"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    bad = app_client.get("/services/acme/sources", headers={"Authorization": "Bearer dak_not-a-key"})
    assert bad.status_code == 401
    basic = app_client.get("/services/acme/sources", headers={"Authorization": "Basic YWNtZTp4"})
    assert basic.status_code == 401
    assert acme.client.get(acme.url("/sources")).status_code == 200
    from data_agent_pipelines.catalog.api_keys import ApiKeys

    ApiKeys(catalog).revoke("acme", acme.key_id)
    revoked = acme.client.get(acme.url("/sources"))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]


def test_sources_create_list_read_update_delete(acme: Tenant) -> None:
    created = new_source(acme, every="15m", credentials={"api_secret": "hunter2-secret"}, options={"timeout": "30"})
    assert created["every"] == "15m" and created["credentials"] == {"api_secret": "<redacted>"}
    source_url = acme.url(f"/sources/{created['id']}")
    assert [s["id"] for s in acme.client.get(acme.url("/sources")).json()["items"]] == [created["id"]]
    assert acme.client.get(source_url).json()["name"] == "Main"

    updated = acme.client.patch(source_url, json={"cron": "0 * * * *", "truth": "update-unless-edited"}).json()
    assert (updated["cron"], updated["every"], updated["truth"]) == ("0 * * * *", None, "update-unless-edited")
    disabled = acme.client.patch(source_url, json={"enabled": False}).json()
    assert disabled["enabled"] is False and disabled["cron"] == "0 * * * *"

    assert acme.client.delete(source_url).json() == {"id": created["id"], "deleted": True}
    gone = acme.client.get(source_url)
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"kind": "mrss", "url": "https://a.example.com/f.xml"}, 422, "name: Field required"),
        ({"name": "x", "kind": "mrss", "url": "https://a.example.com/f.xml", "colour": "red"}, 422, "colour"),
        ({"name": "x", "kind": "rss", "url": "https://a.example.com/f.xml"}, 400, "unknown kind 'rss'"),
        ({"name": "x", "kind": "mrss", "url": "ftp://a.example.com/f.xml"}, 400, "invalid URL"),
        (
            {"name": "x", "kind": "mrss", "url": "https://a.example.com/f", "every": "often"},
            400,
            "invalid duration 'often'",
        ),
        (
            {"name": "x", "kind": "mrss", "url": "https://a.example.com/f", "max_removal_fraction": 2},
            400,
            "--max-removal-fraction",
        ),
        (
            {"name": "x", "kind": "mrss", "url": "https://a.example.com/f", "max_removal_fraction": "many"},
            422,
            "max_removal_fraction",
        ),
        (
            {"name": "x", "kind": "mrss", "url": "https://a.example.com/f", "credentials": {"bad key": "v"}},
            400,
            "credentials expects KEY=VALUE",
        ),
        (
            {"name": "x", "kind": "mrss", "url": "https://a.example.com/f", "sign_streams": "cloudfront"},
            400,
            "needs --credential key_pair_id",
        ),
        ({"name": "x", "kind": "jwplayer"}, 400, "--option site_id"),
        ({"name": "x", "kind": "mrss", "url": "http://127.0.0.1/feed.xml"}, 400, "refused URL"),
    ],
)
def test_bad_source_settings_name_the_field(acme: Tenant, body: dict, status: int, names: str) -> None:
    response = acme.client.post(acme.url("/sources"), json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"] == ("validation_error" if status == 422 else "invalid_input")
    assert names in response.json()["detail"]


def test_a_duplicate_source_name_is_409(acme: Tenant) -> None:
    new_source(acme)
    response = acme.client.post(
        acme.url("/sources"), json={"name": "Main", "kind": "mrss", "url": "https://b.example.com/x.xml"}
    )
    assert response.status_code == 409 and "already has a source named 'Main'" in response.json()["detail"]


def test_signing_credentials_are_validated_encrypted_and_never_returned(acme: Tenant, catalog: Catalog) -> None:
    pem = rsa_pem()
    created = new_source(acme, sign_streams="cloudfront", credentials={"key_pair_id": KEY_PAIR_ID, "private_key": pem})
    assert created["credentials"] == {"key_pair_id": "<redacted>", "private_key": "<redacted>"}
    for response in (
        acme.client.get(acme.url(f"/sources/{created['id']}")),
        acme.client.get(acme.url("/sources")),
        acme.client.patch(acme.url(f"/sources/{created['id']}"), json={"options": {"ttl": "60"}}),
    ):
        assert SECRET_PEM_MARKER not in response.text and KEY_PAIR_ID not in response.text
    from sqlalchemy import text

    with catalog.engine.connect() as conn:
        stored = conn.execute(text("SELECT credentials FROM sources")).scalar_one()
    assert SECRET_PEM_MARKER not in stored and KEY_PAIR_ID not in stored
    refused = acme.client.patch(
        acme.url(f"/sources/{created['id']}"), json={"credentials": {"private_key": "-----BEGIN PRIVATE KEY-----x"}}
    )
    assert refused.status_code == 400 and "not a PEM private key" in refused.json()["detail"]
    assert "BEGIN" not in refused.json()["detail"].split("starting with")[0]
    stopped = acme.client.patch(acme.url(f"/sources/{created['id']}"), json={"sign_streams": None})
    assert stopped.json()["sign_streams"] is None


def test_playback_signs_by_the_assets_source(acme: Tenant, catalog: Catalog, clock) -> None:
    signed = new_source(
        acme,
        "Protected",
        sign_streams="cloudfront",
        credentials={"key_pair_id": KEY_PAIR_ID, "private_key": rsa_pem()},
        options={"ttl": "300"},
    )
    akamai = new_source(acme, "Edge", sign_streams="akamai", credentials={"key": AKAMAI_KEY})
    plain = new_source(acme, "Open")
    put_asset(catalog, signed["id"], "ast_cf")
    put_asset(catalog, akamai["id"], "ast_ak")
    put_asset(catalog, plain["id"], "ast_pl")
    now = int(clock().timestamp())

    cf = acme.client.get(acme.url("/assets/ast_cf/playback")).json()
    assert (cf["signed"], cf["scheme"], cf["ttl"]) == (True, "cloudfront", 300)
    url = cf["editions"][0]["streams"][0]["url"]
    verify_cloudfront(url, rsa_key().public_key(), KEY_PAIR_ID, now=now + 299)
    with pytest.raises(Exception, match="expired"):
        verify_cloudfront(url, rsa_key().public_key(), KEY_PAIR_ID, now=now + 300)

    short = acme.client.get(acme.url("/assets/ast_ak/playback"), params={"ttl": 20}).json()
    fields = verify_akamai(short["editions"][0]["streams"][0]["url"], AKAMAI_KEY, now=now)
    assert fields == {"exp": str(now + 20), "acl": "/*"}
    assert short["expires_at"] == datetime.fromtimestamp(now + 20, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    open_ = acme.client.get(acme.url("/assets/ast_pl/playback")).json()
    assert open_["signed"] is False
    assert open_["editions"][0]["streams"][0]["url"] == "https://cdn.example.com/vod/a/master.m3u8"
    assert acme.client.get(acme.url("/assets/ast_pl/playback"), params={"ttl": 0}).status_code == 422


def test_assets_list_filters_and_pages_read_and_cms_edit(acme: Tenant, catalog: Catalog, clock) -> None:
    one = new_source(acme, "One")
    two = new_source(acme, "Two")
    for n in range(5):
        clock.advance(seconds=1)
        put_asset(catalog, one["id"], f"ast_1{n}", asset_type="episode" if n % 2 else "movie")
    put_asset(catalog, two["id"], "ast_20")

    def ids(**params) -> list[str]:
        response = acme.client.get(acme.url("/assets"), params=params)
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    assert ids(source_id=one["id"]) == ["ast_14", "ast_13", "ast_12", "ast_11", "ast_10"]
    first = acme.client.get(acme.url("/assets"), params={"source_id": one["id"], "limit": 2}).json()
    assert [a["id"] for a in first["items"]] == ["ast_14", "ast_13"] and first["next_cursor"]
    assert ids(source_id=one["id"], limit=2, cursor=first["next_cursor"]) == ["ast_12", "ast_11"]
    assert ids(type="episode") == ["ast_13", "ast_11"]
    assert ids(source_id=two["id"]) == ["ast_20"]
    assert ids(status="unpublished") == []
    bad = acme.client.get(acme.url("/assets"), params={"type": "webinar"})
    assert bad.status_code == 400 and "invalid type 'webinar'" in bad.json()["detail"]
    assert acme.client.get(acme.url("/assets"), params={"limit": 0}).json()["detail"].startswith("limit:")

    assert acme.client.get(acme.url("/assets/ast_10")).json()["title"] == "Title ast_10"
    edited = acme.client.patch(acme.url("/assets/ast_10"), json={"title": "CMS title", "tags": ["x"]}).json()
    assert edited["title"] == "CMS title" and edited["edited_fields"] == ["tags", "title"]
    assert acme.client.get(acme.url("/assets/ast_10")).json()["edited_fields"] == ["tags", "title"]
    unknown = acme.client.patch(acme.url("/assets/ast_10"), json={"colour": "red"})
    assert unknown.status_code == 400 and "unknown asset field 'colour'" in unknown.json()["detail"]
    wrong = acme.client.patch(acme.url("/assets/ast_10"), json={"duration": "long"})
    assert wrong.status_code == 400 and "'duration'" in wrong.json()["detail"]
    assert acme.client.patch(acme.url("/assets/ast_10"), json={}).status_code == 400


def _result(catalog: Catalog, source: dict, result_id: str, n_items: int, started: str) -> None:
    at = parse_instant(started)
    catalog.record_result(
        ImportResult(
            id=result_id,
            source_id=source["id"],
            service=source["service"],
            run_id=None,
            status=ImportStatus.SUCCEEDED,
            started_at=at,
            finished_at=at,
            counts={"created": n_items},
        ),
        [ItemOutcome(outcome="created", external_id=f"e{i}", asset_id=f"ast_{i}") for i in range(n_items)],
    )


def test_import_results_list_and_one_result_with_paginated_items(acme: Tenant, catalog: Catalog) -> None:
    source = new_source(acme)
    _result(catalog, source, "res_old", 3, "2026-10-01T00:00:00Z")
    _result(catalog, source, "res_new", 7, "2026-10-02T00:00:00Z")
    listed = acme.client.get(acme.url(f"/sources/{source['id']}/imports")).json()["items"]
    assert [r["id"] for r in listed] == ["res_new", "res_old"] and "items" not in listed[0]
    page = acme.client.get(acme.url(f"/sources/{source['id']}/imports"), params={"limit": 1, "offset": 1}).json()
    assert [r["id"] for r in page["items"]] == ["res_old"]

    result = acme.client.get(acme.url("/results/res_new"), params={"limit": 3, "offset": 2}).json()
    assert result["counts"]["created"] == 7 and result["items_total"] == 7
    assert [i["external_id"] for i in result["items"]] == ["e2", "e3", "e4"]
    assert acme.client.get(acme.url("/results/res_missing")).status_code == 404


def test_post_imports_queues_a_run_and_answers_at_once(acme: Tenant, settings: Settings) -> None:
    source = new_source(acme)
    queued = acme.client.post(acme.url(f"/sources/{source['id']}/imports"))
    assert queued.status_code == 202, queued.text
    run_id = queued.json()["run_id"]
    instance = open_instance(settings)
    try:
        run = instance.get_run_by_id(run_id)
        assert run.job_name == "import_source" and run.status.value == "QUEUED"
        assert run.tags["dagster/partition"] == source["id"] and run.tags["data_agent/launched_by"] == "api"
        # The run names the code location and module the daemon and the launcher load it from.
        assert run.remote_job_origin.location_name == "data_agent"
        assert run.job_code_origin.repository_origin.code_pointer.module == "data_agent_pipelines.definitions"
    finally:
        instance.dispose()
    again = acme.client.post(acme.url(f"/sources/{source['id']}/imports"))
    assert again.status_code == 409 and run_id in again.json()["detail"]


def test_request_bodies_are_capped_and_bad_json_is_422(acme: Tenant) -> None:
    big = acme.client.post(
        acme.url("/sources"), content=b"{" + b" " * 300_000 + b"}", headers={"content-type": "application/json"}
    )
    assert big.status_code == 413 and big.json()["error"] == "payload_too_large"

    def chunks():
        for _ in range(40):
            yield b" " * 10_000

    streamed = acme.client.post(acme.url("/sources"), content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    broken = acme.client.post(acme.url("/sources"), content=b"{nope", headers={"content-type": "application/json"})
    assert broken.status_code == 422 and broken.json()["detail"] == "the body is not valid JSON"


def test_unknown_routes_and_methods_answer_in_the_error_shape(acme: Tenant) -> None:
    assert acme.client.get("/nowhere").json() == {"error": "not_found", "detail": "Not Found"}
    wrong = acme.client.put(acme.url("/sources"))
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"


def test_openapi_describes_every_route(app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()
    paths = spec["paths"]
    assert {
        "/health",
        "/services/{service}/sources",
        "/services/{service}/sources/{source_id}",
        "/services/{service}/sources/{source_id}/imports",
        "/services/{service}/results/{result_id}",
        "/services/{service}/assets",
        "/services/{service}/assets/{asset_id}",
        "/services/{service}/assets/{asset_id}/playback",
        "/services/{service}/exports",
        "/services/{service}/exports/{target_id}",
        "/services/{service}/exports/{target_id}/runs",
    } <= set(paths)
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
