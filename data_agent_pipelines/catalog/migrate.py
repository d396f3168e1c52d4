"""Bring a catalog database to the current schema revision with Alembic.

Every process that opens a catalog asks whether it is current; that question is answered without Alembic (the
revisions read from the scripts' own lines and from the `alembic_version` table), which is imported only to
upgrade: importing it cost each catalog command a fifth of a second.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# `revision = "0009"` and `down_revision = "0008"` (or None, or a tuple of the heads a merge joins), as every
# script the packaged template writes has them.
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def head_revisions() -> frozenset[str]:
    """The newest revision of every branch of the packaged migrations: those no other script follows.

    Read once per process from the scripts' `revision` and `down_revision` lines (the migrations are packaged with
    this code); test_catalog.py holds this to what Alembic itself reads.
    """
    revisions: set[str] = set()
    followed: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        values = dict(_REVISION_LINE.findall(script.read_text(encoding="utf-8")))
        revisions.add(ast.literal_eval(values["revision"]))
        down = ast.literal_eval(values.get("down_revision", "None"))
        followed.update((down,) if isinstance(down, str) else down or ())
    return frozenset(revisions - followed)


def current_revisions(engine: Engine) -> set[str]:
    """The revisions the database is at: none for a new database."""
    with engine.connect() as connection:
        # Alembic's own table, by its default name (env.py keeps it).
        if not inspect(connection).has_table("alembic_version"):
            return set()
        return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply every migration up to `revision`; a no-op on an up-to-date database."""
    from alembic import command

    config = alembic_config()
    with engine.connect().execution_options(catalog_write=True) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def ensure_current(engine: Engine) -> None:
    """Upgrade only when the database is behind, so the common path costs one query."""
    if current_revisions(engine) != head_revisions():
        upgrade(engine)
