"""The `data-agent` command (docs/cli.md): JSON with `--json`, readable tables otherwise. `app` holds the root group
and the entry point; each other module adds one family of commands to it."""

from . import assets, exports, imports, server, services, sources
from .app import cli, main

__all__ = ["assets", "cli", "exports", "imports", "main", "server", "services", "sources"]
