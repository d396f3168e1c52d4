"""Bring a catalog database to the current schema revision with Alembic."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def head_revisions() -> frozenset[str]:
    """The newest revision of every branch of the packaged migrations.

    Read once per process: reading the scripts costs tens of milliseconds, every run opens a catalog, and the
    migrations are packaged with this code.
    """
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply every migration up to `revision`; a no-op on an up-to-date database."""
    config = alembic_config()
    with engine.connect().execution_options(catalog_write=True) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def ensure_current(engine: Engine) -> None:
    """Upgrade only when the database is behind, so the common path costs one query."""
    if current_revisions(engine) != head_revisions():
        upgrade(engine)
