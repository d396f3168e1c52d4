"""Resources the import ops take by key: the catalog and the HTTP client, built from settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from ..catalog.store import Catalog
from ..net import FetchPolicy, HttpClient
from ..settings import get_settings


class CatalogResource(ConfigurableResource):
    """The catalog of the environment (`DATA_AGENT_DATABASE_URL`).

    Deliberately without settings: a resource's settings are launchpad settings, and no one starting a run from
    the UI may point it at another catalog (another tenant's, say). Where the catalog lives is the deployment's.
    """

    _catalog: Catalog | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._catalog = Catalog.open(get_settings())

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._catalog is not None:
            self._catalog.close()

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            raise RuntimeError("the catalog resource is used outside a run")
        return self._catalog

    @property
    def work_root(self) -> Path:
        return get_settings().work_dir


class HttpResource(ConfigurableResource):
    """The one HTTP client, with the safety policy of settings (allowed hosts, local feed folder, size limit).

    Deliberately without settings, like the catalog: a launchpad setting that allowed more hosts would let anyone
    starting a run from the UI past the address checks.
    """

    @contextmanager
    def client(self) -> Iterator[HttpClient]:
        settings = get_settings()
        policy = FetchPolicy(
            allow_hosts=settings.allow_hosts,
            max_bytes=settings.max_document_bytes,
            feed_folder=settings.feed_folder,
        )
        with HttpClient(policy) as client:
            yield client
