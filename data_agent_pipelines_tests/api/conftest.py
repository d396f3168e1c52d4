"""API fixtures: the app over a fresh catalog (SQLite and PostgreSQL), two services with a key each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from data_agent_pipelines.api import create_app
from data_agent_pipelines.catalog.api_keys import ApiKeys
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.model import Asset, AssetWrite, Edition, Stream, encode_asset
from data_agent_pipelines.settings import Settings


@dataclass
class Tenant:
    """A service and an authenticated client for it."""

    service: str
    key_id: str
    client: TestClient

    def url(self, path: str = "") -> str:
        return f"/services/{self.service}{path}"


@pytest.fixture
def app_client(settings: Settings, catalog: Catalog) -> Iterator[TestClient]:
    # raise_server_exceptions off: a bug answers 500 here as it would in production, and tests see it.
    with TestClient(create_app(settings, catalog=catalog), raise_server_exceptions=False) as client:
        yield client


def _tenant(catalog: Catalog, app_client: TestClient, service: str) -> Tenant:
    catalog.add_service(service)
    record, key = ApiKeys(catalog).add(service)
    client = TestClient(app_client.app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {key}"})
    return Tenant(service, record["id"], client)


@pytest.fixture
def acme(catalog: Catalog, app_client: TestClient) -> Tenant:
    return _tenant(catalog, app_client, "acme")


@pytest.fixture
def globex(catalog: Catalog, app_client: TestClient) -> Tenant:
    return _tenant(catalog, app_client, "globex")


def new_source(tenant: Tenant, name: str = "Main", **settings) -> dict:
    body = {"name": name, "kind": "mrss", "url": f"https://feeds.example.com/{name.lower()}.xml", **settings}
    response = tenant.client.post(tenant.url("/sources"), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def put_asset(catalog: Catalog, source_id: str, asset_id: str, *, asset_type: str = "movie", **fields) -> None:
    asset = Asset(
        f"ext-{asset_id}",
        type=asset_type,
        title=fields.pop("title", f"Title {asset_id}"),
        editions=[Edition("full", [Stream("https://cdn.example.com/vod/a/master.m3u8", "hls", default=True)])],
        **fields,
    )
    encoded = encode_asset(asset)
    catalog.write_assets(
        catalog.get_source(source_id),
        [AssetWrite(asset_id, asset.external_id, encoded.columns, encoded.content_hash)],
        imported_at=catalog.clock(),
    )
