"""A catalog on each backend, a Dagster home and a hostile server, shared by the tests of one module.

Setting these up costs more than one import, so the hostile-import tests share one per backend and module; each
test then proves that its hostile import left this shared catalog exactly as the last good import left it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.settings import Settings, get_settings, load_settings

from ..conftest import backend_url, configure_environment


@contextmanager
def environment(backend: str, folder: Path, **variables: str) -> Iterator[tuple[Settings, pytest.MonkeyPatch]]:
    """Point the process environment at a fresh home and catalog, plus `variables`, for the `with` block."""
    with backend_url(backend, folder) as url, pytest.MonkeyPatch.context() as patch:
        configure_environment(patch, folder, url)
        for name, value in variables.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        try:
            yield load_settings(), patch
        finally:
            get_settings.cache_clear()


@dataclass
class CatalogState:
    """Everything an import may change, for comparing a catalog before and after."""

    assets: list[dict[str, Any]]
    validators: dict[str, Any]


def catalog_state(catalog: Catalog, service: str, source_id: str) -> CatalogState:
    assets = sorted(catalog.list_assets(service, limit=100_000), key=lambda asset: asset["id"])
    source = catalog.get_source(source_id)
    validators = {"etag": source.etag, "last_modified": source.last_modified, "digest": source.content_digest}
    return CatalogState(assets, validators)


def assets_by_external_id(catalog: Catalog, service: str) -> dict[str, dict[str, Any]]:
    """The assets of a service by external id, without what differs between two catalogs by nature (ids, times)."""
    volatile = {"id", "source_id", "created_at", "updated_at", "last_imported_at"}
    return {
        asset["external_id"]: {name: value for name, value in asset.items() if name not in volatile}
        for asset in catalog.list_assets(service, limit=1_000_000)
    }
