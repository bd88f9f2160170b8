"""Applies the Alembic migrations to a database (at start-up, or on their own), and tells
how far behind a database is (`python -m bot check`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.storage.db import Database

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["url"] = url
    config.attributes["configure_logging"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Brings the schema up to `revision`; safe to run again (it does nothing then)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


async def current_revision(database: Database) -> str | None:
    """The migration the database is at (None: none applied yet)."""
    async with database.engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision())


def missing(url: str, current: str | None) -> list[str]:
    """The migrations not yet applied on top of `current`, newest first, read from the
    migrations folder (so it stays right as migrations are added). Raises
    alembic.util.CommandError when `current` is unknown here (a newer version's)."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return [revision.revision for revision in script.iterate_revisions("heads",
                                                                        current or "base")]
