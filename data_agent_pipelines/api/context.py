"""What the API's handlers share in one process: settings, the catalog, API keys, the Dagster instance."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from ..catalog.api_keys import ApiKeys, key_hash
from ..catalog.export_targets import ExportTargets
from ..catalog.store import Catalog
from ..errors import NotFound
from ..model import Source
from ..settings import Settings

# A valid key is looked up in the catalog at most once per this many seconds per process: the hot playback path
# then costs one catalog read, not two. A revoked key stops working within this time.
KEY_CACHE_SECONDS = 2.0
KEY_CACHE_SIZE = 10_000


@dataclass
class ApiContext:
    settings: Settings
    catalog: Catalog
    _instance: Any = None
    _instance_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def keys(self) -> ApiKeys:
        return ApiKeys(self.catalog)

    @property
    def export_targets(self) -> ExportTargets:
        return ExportTargets(self.catalog, allow_hosts=self.settings.allow_hosts)

    _known_keys: dict[str, tuple[str, float]] = field(default_factory=dict)

    def cached_service_of_key(self, key: str) -> str | None:
        """The service of a key this process has seen valid less than KEY_CACHE_SECONDS ago (no I/O)."""
        known = self._known_keys.get(key_hash(key))
        if known is not None and known[1] > time.monotonic():
            return known[0]
        return None

    def service_of_key(self, key: str) -> str | None:
        """The service of a valid key, from the catalog; a valid key is remembered for KEY_CACHE_SECONDS."""
        service = self.keys.service_of(key)
        if service is not None:
            if len(self._known_keys) >= KEY_CACHE_SIZE:
                self._known_keys.clear()
            self._known_keys[key_hash(key)] = (service, time.monotonic() + KEY_CACHE_SECONDS)
        return service

    def instance(self) -> Any:
        """The Dagster instance runs are queued on, opened on first use (most requests never need it)."""
        with self._instance_lock:
            if self._instance is None:
                from ..orchestration.runner import open_instance

                self._instance = open_instance(self.settings)
            return self._instance

    def close(self) -> None:
        if self._instance is not None:
            self._instance.dispose()
        self.catalog.close()

    # -- a service's own things: another service's answer NotFound, as a missing one does --------------------

    def source(self, service: str, source_id: str) -> Source:
        try:
            source = self.catalog.get_source(source_id)
        except NotFound:
            source = None
        if source is None or source.service != service:
            raise NotFound(f"service {service!r} has no source with id {source_id!r}")
        return source

    def asset(self, service: str, asset_id: str) -> dict[str, Any]:
        try:
            asset = self.catalog.get_asset(asset_id)
        except NotFound:
            asset = None
        if asset is None or asset["service"] != service:
            raise NotFound(f"service {service!r} has no asset with id {asset_id!r}")
        return asset


async def api_context(request: Request) -> ApiContext:
    """The context of the app serving the request."""
    return request.app.state.context
