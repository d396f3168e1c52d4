"""Services (tenants) in the catalog: every other record belongs to one."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..clock import Clock
from ..errors import Conflict, InvalidInput, NotFound
from ..model import isoformat
from .database import Database
from .schema import assets, services, sources

_SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


class Services:
    """The services of a catalog (used through `Catalog`)."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock

    def add(self, name: str) -> dict[str, Any]:
        """Create a service (a tenant); names are lower-case slugs."""
        if not _SERVICE_NAME.match(name or ""):
            raise InvalidInput(
                f"invalid service name {name!r}: use 1-100 lower-case letters, digits, '-' or '_',"
                " starting with a letter or digit"
            )
        now = self.clock()
        try:
            with self.database.write() as conn:
                conn.execute(insert(services).values(name=name, created_at=now))
        except IntegrityError:
            raise Conflict(f"service {name!r} already exists") from None
        return {"name": name, "created_at": isoformat(now), "sources": 0, "assets": 0}

    def list(self) -> list[dict[str, Any]]:
        """Every service with how many sources and assets it has, by name."""
        source_counts = select(sources.c.service, func.count().label("n")).group_by(sources.c.service).subquery()
        asset_counts = select(assets.c.service, func.count().label("n")).group_by(assets.c.service).subquery()
        query = (
            select(services.c.name, services.c.created_at, source_counts.c.n, asset_counts.c.n)
            .outerjoin(source_counts, source_counts.c.service == services.c.name)
            .outerjoin(asset_counts, asset_counts.c.service == services.c.name)
            .order_by(services.c.name)
        )
        with self.database.read() as conn:
            return [
                {"name": name, "created_at": isoformat(created), "sources": n_src or 0, "assets": n_ast or 0}
                for name, created, n_src, n_ast in conn.execute(query)
            ]

    def require(self, name: str, conn: Connection | None = None) -> None:
        """Raise NotFound unless the service exists (read in `conn` when given, else in a transaction of its own)."""
        query = select(services.c.name).where(services.c.name == name)
        if conn is not None:
            found = conn.execute(query).first()
        else:
            with self.database.read() as own:
                found = own.execute(query).first()
        if found is None:
            raise NotFound(f"no service named {name!r} (see `data-agent services list`)")
