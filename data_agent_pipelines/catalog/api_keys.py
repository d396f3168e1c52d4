"""API keys of the HTTP API: one service each, stored as a SHA-256 of the key, shown in clear only once.

A key is 256 random bits, so a plain SHA-256 is enough to make the stored value useless to whoever reads the
database (a slow password hash protects guessable secrets; these are not guessable) and keeps the per-request
check to one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import insert, select, update

from ..clock import new_id
from ..errors import NotFound
from ..model import isoformat
from .schema import api_keys
from .store import Catalog

KEY_PREFIX = "dak_"


def key_hash(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def _to_json(row: Any) -> dict[str, Any]:
    m = row._mapping
    return {
        "id": m["id"],
        "service": m["service"],
        "created_at": isoformat(m["created_at"]),
        "revoked_at": isoformat(m["revoked_at"]),
    }


class ApiKeys:
    """The API keys of a catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def add(self, service: str) -> tuple[dict[str, Any], str]:
        """Make a key for a service: its record and the key itself, which is not kept and cannot be shown again."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        row = {"id": new_id("key"), "service": service, "key_hash": key_hash(key), "created_at": self.catalog.clock()}
        with self.catalog.database.write() as conn:
            self.catalog.require_service(service, conn)
            conn.execute(insert(api_keys).values(**row))
        return self._get(row["id"]), key

    def _get(self, key_id: str) -> dict[str, Any]:
        with self.catalog.database.read() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        if row is None:
            raise NotFound(f"no API key with id {key_id!r}")
        return _to_json(row)

    def list(self, service: str) -> list[dict[str, Any]]:
        """A service's keys (never the keys themselves), oldest first."""
        query = select(api_keys).where(api_keys.c.service == service).order_by(api_keys.c.created_at, api_keys.c.id)
        with self.catalog.database.read() as conn:
            self.catalog.require_service(service, conn)
            return [_to_json(row) for row in conn.execute(query)]

    def revoke(self, service: str, key_id: str) -> dict[str, Any]:
        """Revoke a key of a service; it stops working at once. Revoking a revoked key changes nothing."""
        with self.catalog.database.write() as conn:
            self.catalog.require_service(service, conn)
            conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.service == service, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=self.catalog.clock())
            )
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id, api_keys.c.service == service)).first()
        if row is None:
            raise NotFound(f"service {service!r} has no API key with id {key_id!r} (see `data-agent services keys`)")
        return _to_json(row)

    def service_of(self, key: str) -> str | None:
        """The service a key belongs to, or None for an unknown or revoked key."""
        query = select(api_keys.c.service).where(api_keys.c.key_hash == key_hash(key), api_keys.c.revoked_at.is_(None))
        with self.catalog.database.read() as conn:
            return conn.execute(query).scalar_one_or_none()
