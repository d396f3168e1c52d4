"""Tenant isolation: a key sees only its own service; everything of another service answers 404, never 403."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from data_agent_pipelines.catalog.export_targets import ExportTargets
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.model import ImportResult, ImportStatus, ItemOutcome

from .conftest import Tenant, new_source, put_asset


@pytest.fixture
def globex_things(globex: Tenant, catalog: Catalog) -> dict[str, str]:
    """One of each resource, owned by globex."""
    source = new_source(globex, "Theirs")
    put_asset(catalog, source["id"], "ast_theirs")
    catalog.record_result(
        ImportResult(
            id="res_theirs",
            source_id=source["id"],
            service="globex",
            run_id=None,
            status=ImportStatus.SUCCEEDED,
            started_at=datetime(2026, 10, 1, tzinfo=UTC),
            counts={"created": 1},
        ),
        [ItemOutcome(outcome="created", external_id="e1", asset_id="ast_theirs")],
    )
    target = ExportTargets(catalog, allow_hosts=()).add("globex", _export_changes("s3://globex-exports/globex/catalog"))
    return {"source": source["id"], "asset": "ast_theirs", "result": "res_theirs", "target": target.id}


def _export_changes(url: str):
    from data_agent_pipelines.export_settings import ExportTargetChanges

    return ExportTargetChanges(url=url, format="ndjson")


def _requests(things: dict[str, str]) -> list[tuple[str, str, dict | None]]:
    s, a, r, t = things["source"], things["asset"], things["result"], things["target"]
    return [
        ("GET", f"/sources/{s}", None),
        ("PATCH", f"/sources/{s}", {"name": "Stolen"}),
        ("DELETE", f"/sources/{s}", None),
        ("POST", f"/sources/{s}/imports", None),
        ("GET", f"/sources/{s}/imports", None),
        ("GET", f"/results/{r}", None),
        ("GET", f"/assets/{a}", None),
        ("PATCH", f"/assets/{a}", {"title": "Stolen"}),
        ("GET", f"/assets/{a}/playback", None),
        ("GET", f"/exports/{t}", None),
        ("PATCH", f"/exports/{t}", {"format": "csv"}),
        ("DELETE", f"/exports/{t}", None),
        ("POST", f"/exports/{t}/runs", None),
        ("GET", f"/exports/{t}/runs", None),
    ]


def test_another_services_things_are_not_found_through_ones_own_service(
    acme: Tenant, globex_things: dict[str, str], catalog: Catalog
) -> None:
    for method, path, body in _requests(globex_things):
        response = acme.client.request(method, acme.url(path), json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"] == "not_found"
        assert "globex" not in response.text
    # Nothing changed.
    assert catalog.get_source(globex_things["source"]).name == "Theirs"
    assert catalog.get_asset("ast_theirs")["title"] == "Title ast_theirs"
    assert ExportTargets(catalog).get(globex_things["target"]).format == "ndjson"


def test_another_services_path_is_404_with_ones_own_key(acme: Tenant, globex_things: dict[str, str]) -> None:
    paths = ["/sources", "/assets", "/exports", *[path for _, path, _ in _requests(globex_things)]]
    for path in paths:
        response = acme.client.get(f"/services/globex{path}")
        assert response.status_code in (404, 405), path
        if response.status_code == 404:
            assert response.json()["detail"] in ("no service named 'globex'", "Not Found")
    # A service that does not exist answers the same as one that is not yours.
    assert acme.client.get("/services/initech/sources").json() == acme.client.get("/services/globex/sources").json() | {
        "detail": "no service named 'initech'"
    }


def test_lists_hold_only_ones_own_things(acme: Tenant, globex_things: dict[str, str], catalog: Catalog) -> None:
    mine = new_source(acme, "Mine")
    put_asset(catalog, mine["id"], "ast_mine")
    assert [s["id"] for s in acme.client.get(acme.url("/sources")).json()["items"]] == [mine["id"]]
    assert [a["id"] for a in acme.client.get(acme.url("/assets")).json()["items"]] == ["ast_mine"]
    assert acme.client.get(acme.url("/assets"), params={"source_id": globex_things["source"]}).json()["items"] == []
    assert acme.client.get(acme.url("/exports")).json()["items"] == []


def test_an_export_target_cannot_name_another_services_source(acme: Tenant, globex_things: dict[str, str]) -> None:
    response = acme.client.post(
        acme.url("/exports"),
        json={"url": "s3://acme-exports/acme/x", "format": "csv", "source_id": globex_things["source"]},
    )
    assert response.status_code == 404 and "no source" in response.json()["detail"]
