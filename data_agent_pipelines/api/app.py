"""The FastAPI application: `create_app()` for tests and `data-agent serve` (uvicorn calls it once per worker)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from ..catalog.store import Catalog
from ..settings import Settings, get_settings
from . import errors
from .context import ApiContext
from .limits import MAX_BODY_BYTES, BodyLimit
from .routes import assets, exports, hooks, results, sources, webhooks

DESCRIPTION = """The data agent's API for the CMS and the front end.

Every route but `/health` and `/hooks` takes an API key of the service in its path (`Authorization: Bearer KEY`;
keys come from `data-agent services add-key`); `/hooks` takes the source's own hook secret instead. Errors are
`{"error": CODE, "detail": TEXT}`.
"""


def create_app(settings: Settings | None = None, *, catalog: Catalog | None = None) -> FastAPI:
    """The API over the catalog of `settings` (the environment's by default), or over `catalog` when given."""
    settings = settings or get_settings()
    context = ApiContext(settings=settings, catalog=catalog or Catalog.open(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if catalog is None:  # a catalog handed in belongs to the caller
            context.close()

    app = FastAPI(
        title="data-agent",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.context = context
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)

    @app.get("/health", tags=["health"], summary="Liveness and catalog reachability (no key needed)")
    def health() -> Any:
        try:
            with context.catalog.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            errors.log.exception("health check: the catalog is unreachable")
            return JSONResponse({"status": "unavailable", "catalog": "unreachable"}, status_code=503)
        return {"status": "ok"}

    for module in (sources, results, assets, exports, webhooks, hooks):
        app.include_router(module.router)
    return app
