"""The HTTP API for the CMS and the front end (FastAPI): `create_app` builds it, `data-agent serve` runs it."""

from .app import create_app

__all__ = ["create_app"]
