"""What the API's handlers share in one process: settings, the catalog, API keys, the Dagster instance."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request

from ..catalog.api_keys import ApiKeys
from ..catalog.export_targets import ExportTargets
from ..catalog.store import Catalog
from ..errors import NotFound
from ..model import ExportTarget, ImportResult, Source
from ..settings import Settings

T = TypeVar("T")


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

    def service_of_key(self, key: str) -> str | None:
        """The service of a valid key, read from the catalog at every request (one lookup on a unique index), so
        that a revoked key stops working at once in every worker."""
        return self.keys.service_of(key)

    def instance(self) -> Any:
        """The Dagster instance runs are queued on, opened on first use (most requests never need it)."""
        with self._instance_lock:
            if self._instance is None:
                from ..orchestration.instance import open_instance

                self._instance = open_instance(self.settings)
            return self._instance

    def close(self) -> None:
        if self._instance is not None:
            self._instance.dispose()
        self.catalog.close()

    # -- a service's own things: another service's answer NotFound, as a missing one does --------------------

    def source(self, service: str, source_id: str) -> Source:
        """The service's source; NotFound otherwise."""
        return self._owned(service, "source", source_id, self.catalog.get_source, lambda s: s.service)

    def asset(self, service: str, asset_id: str) -> dict[str, Any]:
        """The service's asset; NotFound otherwise."""
        return self._owned(service, "asset", asset_id, self.catalog.get_asset, lambda a: a["service"])

    def asset_with_source(self, service: str, asset_id: str) -> tuple[dict[str, Any], Source | None]:
        """The service's asset and its source (None when it has none), read in one transaction; NotFound otherwise."""
        return self._owned(service, "asset", asset_id, self.catalog.asset_with_source, lambda pair: pair[0]["service"])

    def export_target(self, service: str, target_id: str) -> ExportTarget:
        """The service's export target; NotFound otherwise."""
        return self._owned(service, "export target", target_id, self.export_targets.get, lambda t: t.service)

    def result(self, service: str, result_id: str) -> ImportResult:
        """The service's import result, without its items; NotFound otherwise."""
        return self._owned(
            service,
            "import result",
            result_id,
            lambda ident: self.catalog.get_result(ident, items=False),
            lambda r: r.service,
        )

    def _owned(self, service: str, what: str, ident: str, load: Callable[[str], T], owner_of: Callable[[T], str]) -> T:
        try:
            thing = load(ident)
        except NotFound:
            pass
        else:
            if owner_of(thing) == service:
                return thing
        raise NotFound(f"service {service!r} has no {what} with id {ident!r}")


async def api_context(request: Request) -> ApiContext:
    """The context of the app serving the request."""
    return request.app.state.context
