"""`data-agent serve`: the HTTP API for the CMS and the front end."""

from __future__ import annotations

import click

from .app import Context, cli, command


@command(cli, "serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes.")
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log one line per request.")
def serve(ctx: Context, host: str, port: int, workers: int, access_log: bool) -> None:
    """Serve the HTTP API for the CMS and the front end (FastAPI on uvicorn) until interrupted."""
    import uvicorn

    # Bring the catalog to the current schema once, before workers start and open it side by side.
    ctx.catalog.close()
    uvicorn.run(
        "data_agent_pipelines.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        server_header=False,
        log_level="info",
    )
