"""Push-trigger secrets of sources: the token a platform's webhook presents to `POST /hooks/{service}/{source_id}`.

One secret per source, made (or replaced) by `data-agent sources hook-token ID [--rotate]` and shown only then.
It is stored encrypted with the credentials' key rather than hashed, because the hook also accepts an HMAC
signature of the body made with it, and checking a signature needs the secret itself.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from ..errors import CredentialsError, InvalidInput
from ..model import isoformat
from .schema import source_hooks
from .store import Catalog

TOKEN_PREFIX = "dah_"  # noqa: S105 - the prefix of made secrets, not a secret
# A secret the operator brings from a platform that signs its webhooks with its own (Mux's signing secret):
# long enough not to be guessed, short enough to be any platform's.
MIN_SECRET_CHARS = 16
MAX_SECRET_CHARS = 500


@dataclass(frozen=True)
class HookToken:
    """A source's hook secret as stored: `secret` only where it is needed (checking a push, showing it once)."""

    source_id: str
    created_at: datetime
    last_pushed_at: datetime | None

    def to_json(self, service: str) -> dict[str, Any]:
        """The token's record, without the secret, with the path its source's `service` is pushed to (what the CLI
        and the API show)."""
        return {
            "source_id": self.source_id,
            "created_at": isoformat(self.created_at),
            "last_pushed_at": isoformat(self.last_pushed_at),
            "service": service,
            "path": f"/hooks/{service}/{self.source_id}",
        }


class SourceHooks:
    """The hook secrets of a catalog's sources."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def issue(self, source_id: str, *, secret: str | None = None) -> tuple[HookToken, str]:
        """Make the source's hook secret, replacing any it had (the old one stops working at once); return the
        record and the secret, which is not shown again. `secret` sets one a platform issued instead of a new one."""
        if secret is None:
            secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        elif not MIN_SECRET_CHARS <= len(secret) <= MAX_SECRET_CHARS or not secret.isprintable() or " " in secret:
            raise InvalidInput(
                f"a hook secret must be {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} printable characters without spaces"
                " (paste the platform's webhook signing secret as it shows it)"
            )
        self.catalog.get_source(source_id)  # NotFound for an unknown source
        stored = self.catalog.cipher.encrypt_secret(secret)
        now = self.catalog.clock()
        with self.catalog.database.write() as conn:
            conn.execute(delete(source_hooks).where(source_hooks.c.source_id == source_id))
            conn.execute(insert(source_hooks).values(source_id=source_id, secret=stored, created_at=now))
        return HookToken(source_id, now, None), secret

    def get(self, source_id: str) -> HookToken | None:
        """The source's hook record (never the secret), or None when it has none."""
        query = select(source_hooks).where(source_hooks.c.source_id == source_id)
        with self.catalog.database.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else HookToken(source_id, row.created_at, row.last_pushed_at)

    def secret(self, source_id: str) -> str | None:
        """The source's hook secret in clear, to check a push with; None when the source has none."""
        query = select(source_hooks.c.secret).where(source_hooks.c.source_id == source_id)
        with self.catalog.database.read() as conn:
            stored = conn.execute(query).scalar()
        if stored is None:
            return None
        secret = self.catalog.cipher.decrypt_secret(stored)
        if secret is None:
            raise CredentialsError("a source's stored hook secret is unreadable: make a new one with --rotate")
        return secret

    @contextmanager
    def pushing(self, source_id: str) -> Iterator[None]:
        """Serialise the pushes of one source across processes while the block decides whether to queue a run,
        and record when the source was last pushed.

        The hook's row is locked for the block (`FOR UPDATE` on PostgreSQL; SQLite's write transaction locks the
        database): two pushes arriving together cannot both see "nothing queued" and queue two runs.
        """
        with self.catalog.database.write() as conn:
            conn.execute(
                select(source_hooks.c.source_id).where(source_hooks.c.source_id == source_id).with_for_update()
            ).first()
            yield
            conn.execute(
                update(source_hooks)
                .where(source_hooks.c.source_id == source_id)
                .values(last_pushed_at=self.catalog.clock())
            )
